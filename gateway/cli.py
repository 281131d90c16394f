"""wardlink: run the gateway, check its config, inspect the outbox, consume, simulate."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from gateway.config.check import load_settings
from gateway.config.credentials import RedactingFormatter, redact
from gateway.config.errors import ConfigError
from gateway.devices_command import add_devices_command
from gateway.log_limits import limit_repeats_everywhere
from gateway.reload_command import add_reload_command
from gateway.sim_command import add_sim_command


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler])
    limit_repeats_everywhere()


def _cmd_run(args: argparse.Namespace) -> int:
    from gateway.daemon import run_gateway  # noqa: PLC0415 - keep `config check` light

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"{args.config}: refusing to start; fix the lines above", file=sys.stderr)
        return 2
    for line in settings.mqtt.loose_secret_files():
        logging.getLogger("wardlink.config").warning("%s: mqtt.%s", args.config, line)
    from edge_store import StoreError  # noqa: PLC0415
    from gateway.http import ControlPortError  # noqa: PLC0415

    loop = asyncio.new_event_loop()
    stuck = 0
    try:
        stuck = loop.run_until_complete(run_gateway(settings, args.config))
    except StoreError as exc:
        print(f"{settings.store.path}: {exc}", file=sys.stderr)
        return 3
    except ControlPortError as exc:
        listen = settings.http.listen
        print(f"{args.config}: http.listen: {listen!r} {exc}; refusing to start", file=sys.stderr)
        return 2
    finally:
        if not stuck:
            _close_loop(loop)
    if stuck:
        print(f"{stuck} task(s) did not stop; exiting without them", file=sys.stderr)
        return 1
    return 0


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """``asyncio.run``'s clean-up, bounded: it would wait forever on a task that ignores cancel."""
    leftover = asyncio.all_tasks(loop)
    for task in leftover:
        task.cancel()
    if leftover:
        loop.run_until_complete(asyncio.wait(leftover, timeout=5))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def _cmd_config_check(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.file)
    except ConfigError as exc:
        print("\n".join(exc.lines()))
        return 1
    for line in settings.mqtt.loose_secret_files():
        print(f"{args.file}: warning: mqtt.{line}")
    print(f"{args.file}: ok")
    return 0


def _open_store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from edge_store import Outbox  # noqa: PLC0415
    from gateway.daemon import open_outbox  # noqa: PLC0415

    if args.store:
        return Outbox(Path(args.store))
    return open_outbox(load_settings(args.config))


def _cmd_outbox(args: argparse.Namespace) -> int:
    from edge_store import State  # noqa: PLC0415

    try:
        outbox = _open_store(args)
    except ConfigError as exc:
        print("\n".join(exc.lines()), file=sys.stderr)
        return 2
    try:
        if args.outbox_command == "stats":
            stats = outbox.stats()
            print(
                json.dumps(
                    {
                        "pending_by_lane": {
                            ("alarm" if k == 0 else "normal"): v for k, v in stats.pending.items()
                        },
                        "sent": stats.sent,
                        "acknowledged": stats.acked,
                        "quarantined": stats.quarantined,
                        "oldest_pending_age_s": stats.oldest_pending_age_s,
                        "used_bytes": stats.used_bytes,
                        "quota_bytes": stats.quota_bytes,
                    },
                    indent=2,
                )
            )
        elif args.outbox_command == "list":
            state = State[args.state.upper()] if args.state else None
            for row in outbox.list(state, limit=args.limit):
                created = datetime.fromtimestamp(row.created_at, UTC).isoformat()
                print(
                    f"{row.rowid}\t{row.id}\t{row.device}\t{row.seq}\t{row.state.name.lower()}"
                    f"\t{created}\t{row.topic}"
                )
        else:
            since = None
            if args.since:
                since = datetime.fromisoformat(args.since).timestamp()
            count = outbox.replay(ids=args.ids or None, since=since)
            print(f"{count} envelopes queued again for sending")
    finally:
        outbox.close()
    return 0


def _cmd_consume(args: argparse.Namespace) -> int:
    from gateway.central.consume import ConsumeOptions, run_consumer  # noqa: PLC0415
    from gateway.central.order_book import OrderFileError  # noqa: PLC0415

    url = urlsplit(args.broker)
    if url.scheme != "mqtt" or not url.hostname:
        print(f"--broker {redact(repr(args.broker))}: expected mqtt://host:port", file=sys.stderr)
        return 2
    reply_key = None
    if args.reply_key is not None:
        if args.mqtt == "3.1.1":
            print("--reply-key needs MQTT 5 (signatures are properties)", file=sys.stderr)
            return 2
        try:
            reply_key = args.reply_key.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            print(f"--reply-key {args.reply_key}: {exc.strerror}", file=sys.stderr)
            return 2
    options = ConsumeOptions(
        host=url.hostname,
        port=url.port or 1883,
        topic_root=args.topic_root,
        gateway_filter=args.gateway,
        client_id=args.client_id,
        protocol=mqtt.MQTTv311 if args.mqtt == "3.1.1" else mqtt.MQTTv5,
        persistent=not args.clean,
        send_acks=args.ack,
        output=args.out,
        pretty=args.pretty,
        username=url.username,
        password=url.password,
        orders=args.orders,
        reply_key=reply_key,
    )
    try:
        return run_consumer(options, count=args.count, duration_s=args.duration)
    except OrderFileError as exc:
        print(exc, file=sys.stderr)
        return 2


def _cmd_unmapped(args: argparse.Namespace) -> int:
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    if args.url:
        base = args.url.rstrip("/")
    else:
        try:
            base = f"http://{load_settings(args.config).http.listen}"
        except ConfigError as exc:
            print("\n".join(exc.lines()), file=sys.stderr)
            return 2
    try:
        with urllib.request.urlopen(f"{base}/api/unmapped-codes", timeout=10) as answer:  # noqa: S310
            listing = json.loads(answer.read())
    except (OSError, ValueError) as exc:
        print(f"{base}: cannot read the gateway's unmapped codes: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for device, codes in listing.items():
        for code, count in codes["codes"].items():
            print(f"{device}\t{count}\t{code}")
        if codes["other"]:
            print(f"{device}\t{codes['other']}\t(other codes, past the per-device limit)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wardlink", description=__doc__)
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the gateway")
    run.add_argument("--config", "-c", type=Path, required=True)
    run.set_defaults(func=_cmd_run)

    config = commands.add_parser("config", help="configuration tools")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser(
        "check", help="validate a wardlink.toml, one line per problem"
    )
    check.add_argument("file", type=Path)
    check.set_defaults(func=_cmd_config_check)

    outbox = commands.add_parser("outbox", help="inspect or replay the durable outbox")
    outbox.add_argument("outbox_command", choices=["stats", "list", "replay"])
    where = outbox.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", "-c", type=Path)
    where.add_argument("--store", type=Path, help="outbox database file")
    outbox.add_argument("--state", choices=["pending", "sent", "acked", "quarantined"])
    outbox.add_argument("--limit", type=int, default=50)
    outbox.add_argument("--ids", nargs="*", help="replay: envelope ids to send again")
    outbox.add_argument("--since", help="replay: ISO time; send again everything since")
    outbox.set_defaults(func=_cmd_outbox)

    consume = commands.add_parser("consume", help="reference central consumer (JSON lines)")
    consume.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    consume.add_argument("--topic-root", default="wardlink")
    consume.add_argument("--gateway", default="+/+/+", help="site/ward/gateway filter")
    consume.add_argument("--client-id", default="wardlink-consumer")
    consume.add_argument("--mqtt", choices=["5", "3.1.1"], default="5")
    consume.add_argument("--clean", action="store_true", help="no persistent session")
    consume.add_argument("--ack", action="store_true", help="send end-to-end acks")
    consume.add_argument("--out", type=Path, help="append JSON lines here (default stdout)")
    consume.add_argument("--pretty", action="store_true", help="one human line per event")
    consume.add_argument("--count", type=int, help="stop after this many unique envelopes")
    consume.add_argument("--duration", type=float, help="stop after this many seconds")
    consume.add_argument(
        "--orders",
        type=Path,
        help="answer analyzers' host queries from this CSV (specimen_id,tests,...)",
    )
    consume.add_argument(
        "--reply-key",
        type=Path,
        help="sign query replies with the shared key in this file (gateways' query_reply_key_file)",
    )
    consume.set_defaults(func=_cmd_consume)
    unmapped = commands.add_parser(
        "unmapped", help="list local test codes the code maps do not know (a running gateway)"
    )
    gateway = unmapped.add_mutually_exclusive_group(required=True)
    gateway.add_argument("--config", "-c", type=Path, help="reach the gateway at its http.listen")
    gateway.add_argument("--url", help="the control surface, e.g. http://127.0.0.1:9108")
    unmapped.add_argument("--json", action="store_true", help="the API's JSON as it is")
    unmapped.set_defaults(func=_cmd_unmapped)
    add_sim_command(commands)
    add_devices_command(commands)
    add_reload_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_level)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
