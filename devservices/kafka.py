"""A single-node Apache Kafka 4 broker in KRaft mode, run from Maven Central jars with local Java.

The jars are resolved once by Maven (``kafka/pom.xml``) and copied into ``.cache/kafka/`` at the
project root, which git ignores.
"""

import base64
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import maven
from ._process import free_port, stop_process, wait_until

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent
LIBS_DIR = PROJECT_ROOT / ".cache" / "kafka" / "libs"
POM = HERE / "kafka" / "pom.xml"
LOG_CONFIG = HERE / "kafka" / "log4j2.properties"
JVM_OPTIONS = ["-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true"]


def fetch() -> Path:
    """Download the broker jars into the cache folder unless they are already there."""
    return maven.copy_dependencies(POM, LIBS_DIR, "Apache Kafka")


@dataclass
class KafkaBroker:
    """One broker+controller process; ``data_dir`` keeps its logs across restarts."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "logs"),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            # One node: internal topics cannot be replicated, and few partitions start faster.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        self.config_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))

    def _java(self, main_class: str, *args: str) -> list[str]:
        return [
            "java",
            *JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={LOG_CONFIG}",
            "-cp",
            f"{fetch()}/*",
            main_class,
            *args,
        ]

    def format_storage(self) -> None:
        """Format the KRaft metadata log once; a formatted folder is reused as it is."""
        if (self.data_dir / "logs" / "meta.properties").exists():
            return
        self.write_config()
        cluster_id = _cluster_id()
        subprocess.run(
            self._java(
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.config_file)
            ),
            check=True,
            capture_output=True,
        )

    def command(self) -> list[str]:
        """Format if needed, write the config, and return the broker's command line."""
        self.format_storage()
        self.write_config()
        return self._java("kafka.Kafka", str(self.config_file))

    def start(self, timeout: float = 60.0) -> None:
        command = self.command()
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Kafka exited early; see {self.log_file}")
            return broker_ready(self.bootstrap_servers)

        wait_until(ready, timeout, f"Kafka at {self.bootstrap_servers}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


def broker_ready(bootstrap_servers: str, timeout: float = 2.0) -> bool:
    """True once the broker answers a metadata request."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0})
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True


def _cluster_id() -> str:
    """16 random bytes in URL-safe base64 without padding, as KRaft wants them; never starting
    with "-", which the storage tool would take for an option (one id in 64 did)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
