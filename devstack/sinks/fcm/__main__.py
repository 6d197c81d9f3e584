"""``python -m devstack.sinks.fcm``: run the local FCM server, or write a service-account file for it.

    python -m devstack.sinks.fcm [serve] [--host H] [--port P] [--credentials PATH]
    python -m devstack.sinks.fcm credentials PATH [--url http://127.0.0.1:9099] [--project local-notifications]

``serve`` listens on ``BIND_HOST``:``FCM_SINK_PORT`` (127.0.0.1:9099). With ``--credentials`` (default:
``FCM_SINK_CREDENTIALS``, else ``GOOGLE_APPLICATION_CREDENTIALS``, the file the stack's workers use) it only
accepts token requests signed by that service account, writing the file first when it is missing (an existing
file is used as it is); without, it accepts any well-formed assertion unchecked.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import uvicorn

from devstack.sinks.fcm.app import create_app
from devstack.sinks.fcm.credentials import DEFAULT_PROJECT_ID, write_service_account

DEFAULT_PORT = 9099


def _credentials_from_environment() -> Path | None:
    """The service account to trust: ``FCM_SINK_CREDENTIALS``, else the stack's ``GOOGLE_APPLICATION_CREDENTIALS``."""
    path = os.environ.get("FCM_SINK_CREDENTIALS") or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    return Path(path) if path else None


def _serve_options(target: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """``--host``, ``--port`` and ``--credentials``; without ``defaults``, an option not given is left unset."""
    host = os.environ.get("BIND_HOST", "127.0.0.1")
    port = int(os.environ.get("FCM_SINK_PORT", DEFAULT_PORT))
    credentials = _credentials_from_environment()
    target.add_argument("--host", default=host if defaults else argparse.SUPPRESS)
    target.add_argument("--port", type=int, default=port if defaults else argparse.SUPPRESS)
    target.add_argument("--credentials", type=Path, default=credentials if defaults else argparse.SUPPRESS)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.sinks.fcm", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the server (the default)")
    _serve_options(parser)
    # the options may also follow `serve`, where they override only what is given
    _serve_options(serve, defaults=False)
    credentials = commands.add_parser("credentials", help="write a service-account JSON for this server")
    credentials.add_argument("path", type=Path)
    credentials.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('FCM_SINK_PORT', DEFAULT_PORT)}")
    credentials.add_argument("--project", default=DEFAULT_PROJECT_ID)
    return parser.parse_args()


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def main() -> None:
    """Parse the command line and run the chosen command."""
    args = _arguments()
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), format="%(levelname)s %(name)s %(message)s")
    if args.command == "credentials":
        written = write_service_account(args.path, args.url, args.project)
        print(f"fcm: service account {'written to' if written else 'kept at'} {args.path} (token_uri {args.url}/token)")
        return
    if args.credentials is None:
        logging.getLogger(__name__).warning("no --credentials: token requests are accepted without checking signatures")
    elif not args.credentials.exists():
        write_service_account(args.credentials, f"http://{_client_host(args.host)}:{args.port}")
        print(f"fcm: service account written to {args.credentials}")
    print(f"fcm: local FCM server on http://{args.host}:{args.port} (messages at /messages)")
    uvicorn.run(create_app(args.credentials), host=args.host, port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
