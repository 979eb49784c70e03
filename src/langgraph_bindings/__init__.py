"""LangGraph bindings: thin BaseCheckpointSaver, BaseStore and BaseCache classes over use cases."""
