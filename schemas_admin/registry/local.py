"""The built-in registry called in this process, for when its web server is not up yet."""

from confluent_kafka.schema_registry import Schema

from . import store


class LocalRegistry:
    """The two calls of confluent-kafka's ``SchemaRegistryClient`` that publishing makes, served
    by the built-in registry's store directly (``make run`` publishes its demo contracts before
    the web server starts). Same store, same rules, same schema ids as over HTTP."""

    def set_compatibility(self, subject_name: str, level: str) -> str:
        return store.set_compatibility(subject_name, level)

    def register_schema(self, subject_name: str, schema: Schema) -> int:
        payload = {"schema": schema.schema_str, "schemaType": schema.schema_type}
        return store.register(subject_name, payload, normalize=False)
