"""Fixtures of the dev tooling's tests: the local FCM server, started once and reset for each test."""

from tests.support.fcm_server import fcm, fcm_server

__all__ = ["fcm", "fcm_server"]
