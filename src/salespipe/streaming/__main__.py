"""``python -m salespipe.streaming``: the streaming commands without the main CLI.

For subprocess fault tests and the benchmark until ``salespipe produce|sink|stream|dev
kafka`` are registered in the main CLI (the lead's); flags match the issue's.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from salespipe.streaming import commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m salespipe.streaming")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("produce")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default="sales_events")
    p.add_argument("--count", type=int)
    p.add_argument("--rate", type=float)
    p.add_argument("--duration", type=float)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--defect-rate", type=float, default=0.0)
    p.add_argument("--inject-malformed", action="store_true")
    p.add_argument("--input", type=Path)
    p.add_argument("--producer-config", action="append", default=[])

    for name in ("sink", "stream"):
        s = sub.add_parser(name)
        s.add_argument("--bootstrap", required=True)
        s.add_argument("--topic", default="sales_events")
        s.add_argument("--data-dir")
        s.add_argument("--flush-size", type=int, default=1000)
        s.add_argument("--rotate-interval-ms", type=int, default=60_000)
        s.add_argument("--flush-interval-ms", type=int, default=None if name == "sink" else 500)
        s.add_argument("--group-id", default="salespipe-bronze-sink")
        s.add_argument("--consumer-config", action="append", default=[])
        if name == "sink":
            s.add_argument("--once", action="store_true")

    k = sub.add_parser("dev-kafka")
    k.add_argument("--port", type=int, default=9092)
    k.add_argument("--storage", default="memory://tansu/")
    k.add_argument("--log-file", type=Path)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.command == "produce":
        return commands.produce(
            args.bootstrap,
            topic=args.topic,
            count=args.count,
            rate=args.rate,
            duration=args.duration,
            seed=args.seed,
            defect_rate=args.defect_rate,
            inject_malformed=args.inject_malformed,
            input_file=args.input,
            producer_config=args.producer_config,
        )
    if args.command in ("sink", "stream"):
        common = {
            "topic": args.topic,
            "data_dir": args.data_dir,
            "flush_size": args.flush_size,
            "rotate_interval_ms": args.rotate_interval_ms,
            "group_id": args.group_id,
            "consumer_config": args.consumer_config,
        }
        if args.command == "sink":
            return commands.sink(
                args.bootstrap,
                once=args.once,
                flush_interval_ms=args.flush_interval_ms,
                **common,
            )
        return commands.stream(args.bootstrap, flush_interval_ms=args.flush_interval_ms, **common)
    return commands.dev_kafka(port=args.port, storage=args.storage, log_file=args.log_file)


if __name__ == "__main__":
    raise SystemExit(main())
