"""Playbooks as YAML with CEL conditions: loading, checking, compiling."""
