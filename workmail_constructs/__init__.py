"""Manage Amazon WorkMail as code with the AWS CDK."""

__version__ = "0.1.0"
