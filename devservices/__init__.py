"""Local infrastructure for development, tests and benchmarks.

Each module starts one real server (Apache Kafka, PostgreSQL, Redis) as a child process listening
on 127.0.0.1, with its data in a folder of the caller's choosing. Nothing here is used in
production, where the platform talks to managed services configured through the environment.
"""
