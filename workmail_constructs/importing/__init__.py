"""``workmail-cdk import``: an existing organization written out as a CDK app that adopts it."""
