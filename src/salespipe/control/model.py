"""The SalesPipeline resource as typed models: the one source of its CRD schema,
its server-side defaults and its reference docs (``crd.py`` renders all three).

Validation lives in the schema, so the API server rejects a bad pipeline at
``kubectl apply`` time with a field path and a message, before the operator ever
sees it. Cross-field and transition rules are CEL (``x-kubernetes-validations``).

Secrets never appear in a spec: credentials are named by ``secretRef`` only, and
the free-form maps (extra Connect or Spark settings) reject keys that look like
credentials and values that hold private key material.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from salespipe.contract.schema import LINE_KEY
from salespipe.control.schema import Constraints, Rule
from salespipe.settings import DNS_LABEL, DNS_SUBDOMAIN, SQL_IDENTIFIER

QUANTITY = r"^[0-9]+[kmgtKMGT]?$"


def _cron_field(number: str, names: str = "") -> str:
    """One cron field: a list of ``*``, values or ranges (``a-b``, wrapping around when
    ``a > b``), each with an optional step ``/1`` to ``/99``. Values are in the field's
    range, or its three-letter names in any case. No backslashes: the pattern sits in
    a CEL string literal."""
    value = f"({number}|(?i:{names}))" if names else f"({number})"
    item = f"([*]|{value}(-{value})?)(/[1-9][0-9]?)?"
    return f"{item}(,{item})*"


_CRON_FIELDS = (
    _cron_field("[0-5]?[0-9]"),  # minute 0-59
    _cron_field("[01]?[0-9]|2[0-3]"),  # hour 0-23
    _cron_field("0?[1-9]|[12][0-9]|3[01]"),  # day of month 1-31
    _cron_field("0?[1-9]|1[0-2]", "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"),
    _cron_field("0?[0-7]", "sun|mon|tue|wed|thu|fri|sat"),  # day of week, 0 and 7 Sunday
)
DEFAULT_SCHEDULE = "@hourly"
CRON_PRESETS = ("yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly")
"""The @-presets croniter (and Airflow) know; @once and @reboot have no cron ticks."""
CRON = rf"^(@({'|'.join(CRON_PRESETS)})|{' +'.join(_CRON_FIELDS)})$"
"""Five-field cron (minute hour day-of-month month day-of-week: numbers in range,
names, ranges, steps, lists) or an @-preset: exactly what croniter evaluates, so a
schedule the API server admits always has ticks to compute (bar dates that never
come, such as 30 February, which the operator reports)."""

SECRET_LIKE_KEY = (
    r"(?i)(passw(or)?d|secret|token|credential|private[._-]?key|access[._-]?key|api[._-]?key)"
)
"""Keys that would carry a credential inline; such settings go through a secretRef."""
NO_INLINE_SECRETS = (
    Rule(
        f"self.all(k, !k.matches('{SECRET_LIKE_KEY}'))",
        "inline credentials are not allowed (key looks like a password, token or key);"
        " reference a Secret with secretRef instead",
        "FieldValueForbidden",
    ),
    Rule(
        "self.all(k, !self[k].contains('PRIVATE KEY-----'))",
        "private key material is not allowed in the spec; reference a Secret with secretRef",
        "FieldValueForbidden",
    ),
)


def required_when(condition: str, member: str, message: str) -> Rule:
    """An object-level rule: ``member`` must be set whenever ``condition`` holds."""
    return Rule(f"!({condition}) || has(self.{member})", message, "FieldValueRequired")


ObjectName = Annotated[str, Constraints(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)]
LabelName = Annotated[str, Constraints(min_length=1, max_length=63, pattern=DNS_LABEL)]
Identifier = Annotated[str, Constraints(min_length=1, max_length=255, pattern=SQL_IDENTIFIER)]
StorageUri = Annotated[
    str,
    Constraints(
        min_length=1,
        max_length=1024,
        pattern=r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^@\s]*)?|/[^@\s]*)$",
    ),
]
"""An ``s3://bucket/prefix`` URI or an absolute path; never with inline user info."""
Memory = Annotated[str, Constraints(max_length=16, pattern=QUANTITY)]
Settings = Annotated[
    dict[str, Annotated[str, Constraints(max_length=4096)]],
    Constraints(max_properties=64, rules=NO_INLINE_SECRETS),
]


@dataclass(frozen=True)
class SecretRef:
    """A Secret in the pipeline's namespace that holds credentials; only its name is
    in the spec, never a value."""

    name: ObjectName
    """The Secret's name."""


@dataclass(frozen=True)
class BatchSource:
    """CSV drops landing in Bronze."""

    bronze_uri: StorageUri
    """Bronze root: where CSV drops and the Kafka sink's event files land."""
    schedule: Annotated[
        str,
        Constraints(
            max_length=128,
            rules=(
                Rule(
                    f"self.matches('{CRON}')",
                    "schedule must be a cron expression: five fields with values in range,"
                    " or @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually",
                ),
            ),
        ),
    ] = DEFAULT_SCHEDULE
    """When the operator triggers the batch DAG: five-field cron or an @-preset such as
    @hourly, in UTC. Only the most recent due tick runs (no backlog), and not while the
    pipeline's previous run is unfinished."""


@dataclass(frozen=True)
class StreamingSource:
    """The Kafka event stream: a Strimzi KafkaTopic and the S3 sink KafkaConnector that
    lands it in Bronze. Absent: a batch-only pipeline, no Kafka children."""

    topic: Annotated[
        str,
        Constraints(
            min_length=1,
            max_length=249,
            pattern=r"^[a-zA-Z0-9._-]+$",
            rules=(Rule("self == oldSelf", "topic is immutable", "FieldValueForbidden"),),
        ),
    ] = "sales_events"
    """Kafka topic name. Immutable: Bronze paths and consumer offsets depend on it."""
    partitions: Annotated[
        int,
        Constraints(
            maximum=1000,
            rules=(
                Rule("self >= 1", "partitions must be at least 1"),
                Rule("self >= oldSelf", "partitions cannot be decreased (Kafka cannot shrink)"),
            ),
        ),
    ] = 3
    """Partitions of the topic; may grow, never shrink."""
    replicas: Annotated[int, Constraints(minimum=1, maximum=10)] = 3
    """Replication factor of the topic."""
    kafka_cluster: LabelName = "salespipe"
    """The Strimzi Kafka cluster that holds the topic (label strimzi.io/cluster)."""
    connect_cluster: LabelName = "salespipe-connect"
    """The Strimzi KafkaConnect cluster that runs the S3 sink connector."""
    flush_size: Annotated[int, Constraints(minimum=1, maximum=1_000_000)] = 1000
    """Records per Bronze object before the sink commits a file."""
    rotate_interval_ms: Annotated[int, Constraints(minimum=1000, maximum=86_400_000)] = 60_000
    """Longest record-time span of one Bronze object, in milliseconds."""
    tasks_max: Annotated[int, Constraints(minimum=1, maximum=64)] = 3
    """Connector tasks (at most one per partition does work)."""
    s3_endpoint: (
        Annotated[str, Constraints(max_length=512, pattern=r"^https?://[^@/\s]+(/[^@\s]*)?$")]
        | None
    ) = None
    """S3 endpoint URL for non-AWS object stores; AWS when absent."""
    s3_region: Annotated[str, Constraints(max_length=64, pattern=r"^[a-z0-9-]+$")] = "us-east-1"
    """S3 region of the Bronze bucket."""
    s3_secret_ref: SecretRef = SecretRef("salespipe-s3")
    """Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the sink."""
    connector_config: Settings = field(default_factory=dict)
    """Extra Kafka Connect settings for the sink; credentials are refused here."""


@dataclass(frozen=True)
class Source:
    """Where the pipeline's raw sales come from."""

    __cel_rules__: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "!has(self.streaming) || self.batch.bronzeUri.startsWith('s3://')",
            "streaming needs an s3:// batch.bronzeUri: the Kafka Connect S3 sink lands events"
            " there",
        ),
    )

    batch: BatchSource
    """CSV drops (always present: Bronze is the landing zone of both sources)."""
    streaming: StreamingSource | None = None
    """The Kafka event stream; absent for a batch-only pipeline."""


@dataclass(frozen=True)
class Silver:
    """The cleaned Delta Lake layer."""

    uri: StorageUri
    """Silver root holding the Delta tables sales and sales_quarantine."""
    line_key: Annotated[
        tuple[Annotated[str, Constraints(max_length=63, pattern=SQL_IDENTIFIER)], ...],
        Constraints(
            min_items=1,
            max_items=8,
            extra=(("x-kubernetes-list-type", "set"),),
            rules=(
                Rule(
                    "self != ['order_id']",
                    "order_id alone does not identify a line; add row_id (or another column)",
                ),
            ),
        ),
    ] = LINE_KEY
    """Columns that identify one order line (MERGE key)."""
    retention_days: Annotated[int, Constraints(minimum=1, maximum=3650)] = 7
    """Days of Delta history kept before VACUUM may remove old files."""


@dataclass(frozen=True)
class Gold:
    """The dbt star schema."""

    __cel_rules__: ClassVar[tuple[Rule, ...]] = (
        required_when(
            "self.target == 'snowflake'",
            "credentialsSecretRef",
            "gold.credentialsSecretRef is required for target snowflake",
        ),
    )

    target: Literal["duckdb", "snowflake"] = "duckdb"
    """The dbt target: the embedded DuckDB file or Snowflake."""
    database: Identifier = "salespipe"
    """Database (DuckDB file stem or Snowflake database)."""
    schema: Identifier = "gold"
    """Schema that holds the facts and dimensions."""
    credentials_secret_ref: SecretRef | None = None
    """Secret with the target's credentials (required for snowflake)."""


@dataclass(frozen=True)
class Resources:
    """CPU and memory of one Spark pod."""

    cores: Annotated[int, Constraints(minimum=1, maximum=64)] = 1
    """CPU cores."""
    memory: Memory = "1g"
    """Heap memory in Spark notation, e.g. 512m or 4g."""


@dataclass(frozen=True)
class Executors:
    """The Spark executors."""

    instances: Annotated[int, Constraints(minimum=1, maximum=200)] = 2
    """Number of executors."""
    cores: Annotated[int, Constraints(minimum=1, maximum=64)] = 1
    """CPU cores per executor."""
    memory: Memory = "2g"
    """Heap memory per executor."""


@dataclass(frozen=True)
class Spark:
    """Spark on Kubernetes (a SparkApplication per Silver run)."""

    image: Annotated[
        str,
        Constraints(
            min_length=1,
            max_length=512,
            pattern=r"^[a-z0-9]+([._/:-][a-zA-Z0-9]+)*(@sha256:[a-f0-9]{64})?$",
        ),
    ]
    """Container image with salespipe's Spark jobs and delta-spark."""
    driver: Resources = field(default_factory=Resources)
    """Driver pod resources."""
    executor: Executors = field(default_factory=Executors)
    """Executor pods."""
    spark_conf: Settings = field(default_factory=dict)
    """Extra sparkConf entries; credentials are refused here."""


@dataclass(frozen=True)
class Engine:
    """Where Silver runs."""

    __cel_rules__: ClassVar[tuple[Rule, ...]] = (
        required_when(
            "self.mode == 'spark'",
            "spark",
            "engine.spark is required when engine.mode is spark",
        ),
    )

    mode: Literal["embedded", "spark"] = "embedded"
    """embedded: DuckDB + delta-rs in the Airflow worker; spark: a SparkApplication."""
    spark: Spark | None = None
    """Spark settings (required for mode spark)."""


@dataclass(frozen=True)
class Quality:
    """When a run counts as failed."""

    max_quarantine_ratio: Annotated[float, Constraints(minimum=0, maximum=1)] = 0.05
    """Largest share of Bronze rows quarantined before the run fails (0..1)."""


@dataclass(frozen=True)
class SalesPipelineSpec:
    """The desired state of one sales pipeline."""

    source: Source
    """Raw sales sources."""
    silver: Silver
    """The Silver Delta Lake layer."""
    gold: Gold = field(default_factory=Gold)
    """The Gold star schema."""
    engine: Engine = field(default_factory=Engine)
    """The Silver engine."""
    quality: Quality = field(default_factory=Quality)
    """Quality gates."""
    suspend: bool = False
    """Pause the pipeline: the connector is paused and no DAG runs are triggered."""


ConditionType = Literal["Ready", "TopicReady", "ConnectorReady", "OrchestrationReady"]
CONDITION_TYPES: tuple[ConditionType, ...] = (
    "Ready",
    "TopicReady",
    "ConnectorReady",
    "OrchestrationReady",
)
Timestamp = Annotated[str, Constraints(format="date-time", max_length=64)]


@dataclass(frozen=True)
class Condition:
    """One aspect of the pipeline's state (Kubernetes API conventions)."""

    type: ConditionType
    """Ready (all below), TopicReady, ConnectorReady or OrchestrationReady."""
    status: Literal["True", "False", "Unknown"]
    """True, False or Unknown."""
    reason: Annotated[
        str, Constraints(max_length=128, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    ]
    """CamelCase machine-readable cause of the last transition."""
    last_transition_time: Timestamp
    """When status last changed."""
    message: Annotated[str, Constraints(max_length=1024)] = ""
    """Human-readable details."""
    observed_generation: Annotated[int, Constraints(minimum=0)] | None = None
    """The spec generation this condition was computed from."""


RunTrigger = Literal["spec", "schedule"]


@dataclass(frozen=True)
class LastRun:
    """The latest Airflow DAG run the operator triggered, of either kind (no history:
    status stays small)."""

    dag_id: Annotated[str, Constraints(max_length=250)]
    """The triggered DAG."""
    dag_run_id: Annotated[str, Constraints(max_length=250)]
    """Deterministic run id: pipeline uid + generation (suffix g1, g2, ...) or schedule
    tick (suffix s20260301T1215Z)."""
    generation: Annotated[int, Constraints(minimum=0)]
    """The spec generation whose conf the run carries."""
    state: Annotated[str, Constraints(max_length=32)]
    """Airflow's run state: queued, running, success or failed."""
    trigger: RunTrigger = "spec"
    """spec: a new spec generation (create, update, resume); schedule: a schedule tick."""
    triggered_at: Timestamp | None = None
    """When the run was triggered."""
    updated_at: Timestamp | None = None
    """When the operator saw the state change last (not every poll: status stays quiet)."""


@dataclass(frozen=True)
class ScheduleStatus:
    """Where spec.source.batch.schedule stands (ticks in UTC, whole minutes)."""

    last_tick: Timestamp | None = None
    """The latest tick handled: its run triggered, or covered by a spec change's run
    triggered while it was due."""
    next_tick: Timestamp | None = None
    """The first tick not handled yet; in the past while it waits for the pipeline's
    unfinished run. Absent while suspended or when the schedule never fires."""


@dataclass(frozen=True)
class LayerFigures:
    """What the latest successful run's Silver step took in, as the DAG reported it."""

    bronze_files: Annotated[int, Constraints(minimum=0)] | None = None
    """Bronze objects taken in."""
    silver_rows: Annotated[int, Constraints(minimum=0)] | None = None
    """Lines accepted into Silver."""
    quarantined_rows: Annotated[int, Constraints(minimum=0)] | None = None
    """Lines quarantined with a reason."""


@dataclass(frozen=True)
class SalesPipelineStatus:
    """The observed state, written by the operator only (status subresource)."""

    observed_generation: Annotated[int, Constraints(minimum=0)] | None = None
    """The latest spec generation the operator acted on."""
    conditions: (
        Annotated[
            tuple[Condition, ...],
            Constraints(
                max_items=8,
                extra=(
                    ("x-kubernetes-list-type", "map"),
                    ("x-kubernetes-list-map-keys", ("type",)),
                ),
            ),
        ]
        | None
    ) = None
    """Ready, TopicReady, ConnectorReady, OrchestrationReady."""
    last_run: LastRun | None = None
    """The latest triggered DAG run, for a spec change or a schedule tick."""
    schedule: ScheduleStatus | None = None
    """The batch schedule's last handled and next tick."""
    layers: LayerFigures | None = None
    """Figures of the latest successful run."""
