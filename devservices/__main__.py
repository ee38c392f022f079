"""Command line for the local services: ``python -m devservices kafka --data-dir var/kafka``."""

import argparse
import os
from pathlib import Path

from . import kafka, toolchains


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devservices")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch-kafka", help="download the Kafka jars into .cache/kafka")
    commands.add_parser(
        "fetch-toolchains", help="install tsc (npm) and the Kotlin compiler (Maven Central)"
    )
    run = commands.add_parser("kafka", help="run a single-node Kafka broker in the foreground")
    run.add_argument("--data-dir", type=Path, required=True)
    run.add_argument("--port", type=int, default=9092)
    run.add_argument("--controller-port", type=int, default=9093)
    args = parser.parse_args()

    if args.command == "fetch-kafka":
        print(kafka.fetch())
        return
    if args.command == "fetch-toolchains":
        toolchains.fetch()
        return
    broker = kafka.KafkaBroker(args.data_dir.resolve(), args.port, args.controller_port)
    command = broker.command()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
