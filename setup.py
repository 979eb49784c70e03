"""Map src/ onto the single import root ``langgraph_checkpoint_aws``."""
from setuptools import find_packages, setup

packages = ["langgraph_checkpoint_aws"] + [f"langgraph_checkpoint_aws.{p}" for p in find_packages("src")]
setup(packages=packages, package_dir={"langgraph_checkpoint_aws": "src"},
      package_data={"langgraph_checkpoint_aws": ["py.typed"]})
