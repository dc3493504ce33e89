"""The aggregation on Spark (optional extra ``crimeassess[spark]``, Java 17–21).

:func:`build_with_spark` runs :func:`crimeassess.aggregate.aggregate_expr`, unchanged, on Ibis's PySpark
backend and writes the same aggregate files as the DuckDB build (``aggregates/agg-<records stem>.parquet``,
schema :data:`~crimeassess.aggregate.AGG_SCHEMA`). Records are read by Spark with the explicit records schema
(``schema.RECORD_SCHEMA``; months stay strings); the aggregate (small beside the records) is collected to the
driver as Arrow and written by pyarrow under a temporary name, then renamed. See docs/scale.md.

Two workarounds, both small: Ibis's ``read_parquet`` on PySpark cannot take a schema, so each records file is
read with Spark's ``DataFrameReader.schema(...)`` and registered as a temporary view that Ibis opens as a
table; and Ibis's ``to_pyarrow`` on PySpark goes through pandas (warnings under pandas 3, slower: 1.8–2.3 s
against 1.1–1.5 s for Hampshire's 170,457 records, warm), so the SQL Ibis compiles for the expression is run
with Spark's ``DataFrame.toArrow()``.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from .aggregate import AGG_SCHEMA, AggregateReport, agg_name, aggregate_expr
from .errors import EngineError
from .schema import RECORD_SCHEMA
from .store import Store

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

#: Spark 4.0 runs on Java 17 and 21.
JAVA_MIN, JAVA_MAX = 17, 21
DEFAULT_MASTER = "local[2]"
#: Read the records from a copy of the store elsewhere (e.g. ``s3a://bucket/store``), same layout.
RECORDS_URL_ENV = "CRIMEASSESS_SPARK_RECORDS_URL"
INSTALL_HINT = "pip install 'crimeassess[spark]'"
JDK_HINT = "Debian/Ubuntu: apt-get install openjdk-17-jre-headless"
# Root at WARN (a PySpark driver resets the root to WARN with a console message when it differs), the usual
# start-up warnings at ERROR; build_with_spark then sets ERROR for the run.
_LOG4J = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = error
"""


def java_executable() -> str | None:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java`` when JAVA_HOME is set, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        exe = Path(home) / "bin" / "java"
        return str(exe) if exe.exists() else None
    return shutil.which("java")


def parse_java_version(text: str) -> int | None:
    """The major version in ``java -version`` output ("1.8.0_402" → 8, "17.0.15" → 17, "25" → 25)."""
    m = re.search(r'version "([^"]+)"', text)
    if not m:
        return None
    parts = re.findall(r"\d+", m.group(1))
    if not parts:
        return None
    major = int(parts[0])
    return int(parts[1]) if major == 1 and len(parts) > 1 else major


def check_java() -> str:
    """Run ``java -version``; return its first line when the major version is 17–21, else raise
    :class:`EngineError` with one line saying what to install."""
    exe = java_executable()
    if exe is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java" if os.environ.get("JAVA_HOME") \
            else "no `java` on PATH"
        raise EngineError(f"the Spark engine needs Java {JAVA_MIN}–{JAVA_MAX} ({where}); {JDK_HINT}")
    try:
        r = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"the Spark engine needs Java {JAVA_MIN}–{JAVA_MAX}; `{exe} -version` failed ({exc})") from None
    text = (r.stderr or "") + (r.stdout or "")
    major = parse_java_version(text)
    first = next((ln.strip() for ln in text.splitlines() if "version" in ln), text.strip()[:80])
    if major is None or not JAVA_MIN <= major <= JAVA_MAX:
        extra = " (Spark 4.0 fails at start-up on Java 25)" if major is not None and major > JAVA_MAX else ""
        raise EngineError(f"the Spark engine needs Java {JAVA_MIN}–{JAVA_MAX} but {exe} is {first!r}{extra}; "
                          f"install Java 17 ({JDK_HINT}) and point JAVA_HOME at it")
    return first


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
        import ibis.backends.pyspark  # noqa: F401
    except ImportError as exc:
        raise EngineError(f"the Spark engine needs the optional extra: {INSTALL_HINT} "
                          f"(pyspark 4.0 and ibis-framework[pyspark]; {exc.name or exc} is missing)") from None


def _local_cores(master: str) -> int | None:
    """Cores of a ``local``/``local[N]``/``local[*]`` master, None for a cluster."""
    m = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?", master.strip())
    if not m:
        return None
    n = m.group(1)
    return 1 if n is None else (os.cpu_count() or 2) if n == "*" else int(n)


def start_session(master: str | None) -> tuple["SparkSession", bool]:
    """A Spark session for the aggregation; True when this call started it (the caller then stops it).

    Under ``spark-submit`` (a JVM already launched) with no `master` given, the submitted master is kept.
    Session time zone UTC, console progress and the web UI off, logs at ERROR; a local master gets as many
    shuffle partitions as cores and binds to 127.0.0.1."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    b = SparkSession.builder.appName("crimeassess-aggregates")
    if master or not submitted:
        b = b.master(master or DEFAULT_MASTER)
    b = (b.config("spark.sql.session.timeZone", "UTC")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.ui.enabled", "false"))
    if (master or not submitted) and _local_cores(master or DEFAULT_MASTER):
        b = b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    if active is None and not submitted:
        log = Path(tempfile.gettempdir()) / f"crimeassess-spark-log4j2-{os.getuid()}.properties"
        try:
            if not log.exists() or log.read_text() != _LOG4J:
                log.write_text(_LOG4J)
            b = b.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log}")
        except OSError:  # quiet logs are a nicety
            pass
    session = b.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    cores = _local_cores(session.sparkContext.master)
    if cores and not session.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        session.conf.set("spark.sql.shuffle.partitions", str(cores))  # not 200 tiny tasks on a laptop
    return session, active is None


def _spark_schema() -> Any:
    """schema.RECORD_SCHEMA as a Spark StructType (via Ibis's type mapping)."""
    import ibis
    from ibis.backends.pyspark.datatypes import PySparkSchema

    return PySparkSchema.from_ibis(ibis.Schema.from_pyarrow(RECORD_SCHEMA))


def _records_url(st: Store, rel: str) -> str:
    base = os.environ.get(RECORDS_URL_ENV)
    return f"{base.rstrip('/')}/{rel}" if base else str(st.path / rel)


def build_with_spark(st: Store, todo: list[str], *, master: str | None = None,
                     report: AggregateReport) -> dict[str, str]:
    """Aggregate each records file in `todo` (paths relative to the store) with Spark through Ibis; return
    {records file: aggregate file}. `master` is a Spark master URL (default ``local[2]``; under spark-submit
    the submitted one). Fills `report` (rows) and its details: java_version, spark_version, master, jvm_start_s,
    aggregate_s. Raises :class:`EngineError` when pyspark or a suitable Java is missing."""
    _require_pyspark()
    java = check_java()
    import ibis
    import pyspark

    t0 = time.perf_counter()
    try:
        session, started = start_session(master)
    except _spark_errors() as exc:
        raise EngineError(f"Spark did not start (master {master or DEFAULT_MASTER}): {_first_line(exc)}") from None
    jvm_start = time.perf_counter() - t0
    built: dict[str, str] = {}
    agg_s = 0.0
    try:
        con = ibis.pyspark.connect(session)
        schema = _spark_schema()
        (st.path / agg_name("x")).parent.mkdir(parents=True, exist_ok=True)
        for k, rel in enumerate(todo):
            t1 = time.perf_counter()
            view = f"crimeassess_records_{k}"
            url = _records_url(st, rel)
            try:
                session.read.schema(schema).parquet(url).createOrReplaceTempView(view)
                sql = con.compile(aggregate_expr(con.table(view)))  # Ibis's Spark SQL for the one expression
                result = session.sql(sql).toArrow().cast(AGG_SCHEMA)
            except _spark_errors() as exc:
                raise EngineError(f"{url}: Spark could not aggregate this records file: {_first_line(exc)}") from None
            session.catalog.dropTempView(view)
            out = agg_name(rel)
            part = st.path / f"{out}.{os.getpid()}.tmp"
            pq.write_table(result, part, compression="zstd", row_group_size=1_000_000)
            with open(part, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(part, st.path / out)
            agg_s += time.perf_counter() - t1
            report.records_rows += _sum_n(result)
            report.aggregate_rows += result.num_rows
            built[rel] = out
        report.details.update({"java_version": java, "spark_version": pyspark.__version__,
                               "master": session.sparkContext.master, "jvm_start_s": round(jvm_start, 3),
                               "aggregate_s": round(agg_s, 3)})
    finally:
        if started:
            session.stop()
    return built


def _sum_n(table: Any) -> int:
    """Records counted in an aggregate table (the sum of ``n``)."""
    import pyarrow.compute as pc

    return int(pc.sum(table.column("n")).as_py() or 0)


def _spark_errors() -> tuple[type[BaseException], ...]:
    """Spark's and Py4J's exception classes (what a failed start-up, read or job raises)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)[:300]
