"""The built-in registry: Confluent Schema Registry's REST API over the contract store."""
