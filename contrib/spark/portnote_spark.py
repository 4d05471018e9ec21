#!/usr/bin/env python3
"""portnote over many capture files on Apache Spark.

Spreads capture files across Spark executors, runs `portnote flows --format ndjson` on each,
and returns:

- the flow records as a DataFrame, written as Parquet partitioned by day (--output);
- the per-service table with the columns of `portnote summary --format csv` (--summary-csv),
  computed from the flow records.

The portnote binary reaches the executors either by `spark-submit --files /path/to/portnote`
(then pass `--portnote portnote`: the name is looked up with SparkFiles) or as a path that
exists on every node (`--portnote /usr/local/bin/portnote`).

    spark-submit --master yarn --files /usr/local/bin/portnote contrib/spark/portnote_spark.py \
        --portnote portnote --output hdfs:///flows --summary-csv summary.csv \
        '/nfs/sensor1/2025-06-*.pcap'
    python3 contrib/spark/portnote_spark.py --master 'local[2]' --portnote target/release/portnote \
        --output /tmp/flows --summary-csv /tmp/summary.csv captures/*.pcap

Every file is read by one `portnote flows` run, so a flow that spans two files counts once in
each (as `portnote merge` counts it). Packets and bytes are exact. The table has no rows for
packets without ports (ICMP, non-IP ...), which flow records do not carry, so its `share` is a
fraction of the bytes with ports.
"""

import argparse
import csv
import glob
import json
import os
import subprocess
import sys

from pyspark import SparkFiles
from pyspark.sql import SparkSession, functions as F, types as T

# The fields of `portnote flows --format ndjson` (README, "portnote flows").
FLOW_SCHEMA = T.StructType(
    [
        T.StructField("first_seen", T.StringType()),
        T.StructField("last_seen", T.StringType()),
        T.StructField("duration", T.DoubleType()),
        T.StructField("transport", T.StringType()),
        T.StructField("client", T.StringType()),
        T.StructField("client_port", T.IntegerType()),
        T.StructField("server", T.StringType()),
        T.StructField("server_port", T.IntegerType()),
        T.StructField("evidence", T.StringType()),
        T.StructField("service", T.StringType()),
        T.StructField("section", T.StringType()),
        T.StructField("status", T.StringType()),
        T.StructField("class", T.StringType()),
        T.StructField("unauthorized", T.StringType()),
        T.StructField("packets_c2s", T.LongType()),
        T.StructField("bytes_c2s", T.LongType()),
        T.StructField("packets_s2c", T.LongType()),
        T.StructField("bytes_s2c", T.LongType()),
        T.StructField("tcp_flags", T.StringType()),
        T.StructField("end", T.StringType()),
        T.StructField("state", T.StringType()),
        T.StructField("tunnel", T.StringType()),
        T.StructField("community_id", T.StringType()),
        T.StructField("flow", T.LongType()),
        T.StructField("file", T.StringType()),
        T.StructField("ip_version", T.IntegerType()),
        T.StructField("vlan", T.IntegerType()),
        T.StructField("inner_vlan", T.IntegerType()),
        T.StructField("outer_src", T.StringType()),
        T.StructField("outer_dst", T.StringType()),
        T.StructField("outer_src_port", T.IntegerType()),
        T.StructField("outer_dst_port", T.IntegerType()),
    ]
)

# `portnote summary --format csv` columns.
SUMMARY_COLUMNS = [
    "section", "transport", "service", "ports", "status", "class", "flows", "packets",
    "bytes", "share", "packets_to_server", "bytes_to_server", "packets_to_client",
    "bytes_to_client", "first_seen", "last_seen", "servers", "unauthorized",
]
MAX_SERVERS = 64
CLASS_ORDER = {"system": 0, "user": 1, "dynamic": 2}


def expand(patterns):
    """Glob local patterns on the driver; anything that matches nothing is passed on as is
    (a path only the executors can see, or a URL-like path a wrapper understands)."""
    paths = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        paths.extend(matches if matches else [pattern])
    return paths


def portnote_path(name):
    """The binary: a path that exists here, else a file shipped with `spark-submit --files`."""
    if os.path.exists(name):
        return os.path.abspath(name)
    shipped = SparkFiles.get(os.path.basename(name))
    if os.path.exists(shipped):
        return shipped
    raise FileNotFoundError(f"portnote binary {name!r}: not a path here, not in SparkFiles")


def run_portnote(binary, extra_args):
    def records(path):
        command = [portnote_path(binary), "flows", "--format", "ndjson", *extra_args, path]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in process.stdout:
            yield line
        stderr = process.stderr.read()
        # 2 with records: a damaged capture, read up to the damage (portnote's exit status).
        if process.wait() not in (0, 2):
            raise RuntimeError(f"{' '.join(command)}: exit {process.returncode}: {stderr}")
        if stderr:
            print(stderr, file=sys.stderr, end="")

    return records


def flows_frame(spark, paths, binary, extra_args):
    """One partition per file, each read by one `portnote flows` run on an executor."""
    lines = spark.sparkContext.parallelize(paths, max(1, len(paths))).flatMap(
        run_portnote(binary, extra_args)
    )
    frame = spark.read.schema(FLOW_SCHEMA).json(lines)
    return frame.withColumn("day", F.substring("first_seen", 1, 10))


def summary_rows(flows):
    """Per (transport, service or service port), the columns of `summary --format csv`."""
    key = F.coalesce(F.col("service"), F.concat(F.lit("port "), F.col("server_port").cast("string")))
    grouped = (
        flows.withColumn("key", key)
        .withColumn("class_rank", F.when(F.col("class") == "system", 0).when(F.col("class") == "user", 1).otherwise(2))
        .groupBy("transport", "key")
        .agg(
            F.first("service", ignorenulls=True).alias("service"),
            F.array_sort(F.collect_set("server_port")).alias("ports"),
            F.first("status").alias("status"),
            F.min("class_rank").alias("class_rank"),
            F.count(F.lit(1)).alias("flows"),
            F.sum("packets_c2s").alias("packets_to_server"),
            F.sum("bytes_c2s").alias("bytes_to_server"),
            F.sum("packets_s2c").alias("packets_to_client"),
            F.sum("bytes_s2c").alias("bytes_to_client"),
            F.min("first_seen").alias("first_seen"),
            F.max("last_seen").alias("last_seen"),
            F.array_sort(F.collect_set("server")).alias("servers"),
            F.first("unauthorized", ignorenulls=True).alias("unauthorized"),
        )
        .collect()
    )
    total_bytes = sum(r["bytes_to_server"] + r["bytes_to_client"] for r in grouped) or 1
    classes = ["system", "user", "dynamic"]
    rows = []
    for r in grouped:
        cls = classes[r["class_rank"]]
        section = "dynamic" if cls == "dynamic" else ("assigned" if r["status"] == "assigned" else "unassigned")
        packets = r["packets_to_server"] + r["packets_to_client"]
        nbytes = r["bytes_to_server"] + r["bytes_to_client"]
        servers = r["servers"] if section != "assigned" else []
        rows.append(
            {
                "section": section,
                "transport": r["transport"],
                "service": r["service"] or "",
                "ports": " ".join(str(p) for p in r["ports"]),
                "status": r["status"],
                "class": cls,
                "flows": r["flows"],
                "packets": packets,
                "bytes": nbytes,
                "share": f"{nbytes / total_bytes:.6f}",
                "packets_to_server": r["packets_to_server"],
                "bytes_to_server": r["bytes_to_server"],
                "packets_to_client": r["packets_to_client"],
                "bytes_to_client": r["bytes_to_client"],
                "first_seen": r["first_seen"],
                "last_seen": r["last_seen"],
                "servers": " ".join(servers[:MAX_SERVERS]),
                "unauthorized": r["unauthorized"] or "",
            }
        )
    order = {"assigned": 0, "unassigned": 1, "dynamic": 2}
    rows.sort(key=lambda r: (order[r["section"]], -r["bytes"], r["transport"], r["ports"]))
    return rows


def write_summary(out, rows):
    writer = csv.DictWriter(out, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("captures", nargs="+", help="capture paths or glob patterns")
    parser.add_argument("--portnote", default="portnote", help="binary path, or its name when shipped with --files")
    parser.add_argument("--output", help="write the flow records here as Parquet, partitioned by day")
    parser.add_argument("--summary-csv", help="write the per-service table here (summary --format csv columns)")
    parser.add_argument("--master", help="Spark master when not run by spark-submit, e.g. local[2]")
    parser.add_argument("--portnote-arg", action="append", default=[], help="extra argument to `portnote flows` (repeatable), e.g. --portnote-arg=--no-decap")
    args = parser.parse_args(argv)

    builder = SparkSession.builder.appName("portnote").config("spark.ui.showConsoleProgress", "false")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        paths = expand(args.captures)
        flows = flows_frame(spark, paths, args.portnote, args.portnote_arg).cache()
        if args.output:
            flows.write.mode("overwrite").partitionBy("day").parquet(args.output)
        rows = summary_rows(flows)
        if args.summary_csv:
            with open(args.summary_csv, "w", newline="") as out:
                write_summary(out, rows)
        else:
            write_summary(sys.stdout, rows)
        print(json.dumps({"files": len(paths), "flows": flows.count(), "rows": len(rows)}), file=sys.stderr)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
