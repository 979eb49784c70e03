"""Map src/ onto the single import root ``langgraph_checkpoint_aws``."""
from setuptools import find_packages, setup

packages = ["langgraph_checkpoint_aws"] + [f"langgraph_checkpoint_aws.{p}" for p in find_packages("src")]
# langgraph_checkpoint_s3: seed 004's import path, a thin alias of the S3 savers and the CLI.
setup(packages=packages + ["langgraph_checkpoint_s3"],
      package_dir={"langgraph_checkpoint_aws": "src", "langgraph_checkpoint_s3": "s3compat/langgraph_checkpoint_s3"},
      package_data={"langgraph_checkpoint_aws": ["py.typed"]})
