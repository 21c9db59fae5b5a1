"""A local deploy: a CDK app's stack deployed to the embedded WorkMail emulator.

``assembly`` synthesizes the app and reads its cloud assembly; ``intrinsics`` evaluates
the template's functions; ``resources`` says what happens to each resource type (the
real custom-resource handlers for WorkMail's, generated secrets, DNS records that verify
domains, stand-ins for the rest); ``runner`` deploys in dependency order; ``state`` keeps
what was made between deploys; ``summary`` reads the organization back.
"""
