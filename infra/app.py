"""CDK entry point: run `cdk deploy` from this directory with the project venv active."""

import os

import aws_cdk as cdk
from genome_cache_stack import GenomeCacheStack

app = cdk.App()
GenomeCacheStack(
    app,
    "PaviGenomeCache",
    # Account/region of the deploying credentials; the stack itself does no context lookups.
    env=cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=os.environ.get("CDK_DEFAULT_REGION"),
    ),
)
app.synth()
