"""No SQL text is built from values: every f-string, ``%`` format, ``.format()`` or ``+`` that writes SQL
keywords may only paste in module constants (column lists), never a variable. Values travel as bound
parameters (``$1``, ``:name``, SQLAlchemy expressions). The one exception is an identifier PostgreSQL cannot
bind, quoted on purpose (``CREATE DATABASE "name"``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = [
    "common",
    "templating",
    "delivery",
    "gateway",
    "user_svc",
    "template_svc",
    "email_worker",
    "push_worker",
    "inbound",
    "devstack",
]
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|TRUNCATE|WHERE|VALUES|FROM)\b")
CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
QUOTED_IDENTIFIERS = {("common/db.py", "quoted")}
"""(file, variable) pairs that hold an identifier quoted with ``"`` doubling, for DDL that cannot bind it."""


def sources() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/versions/" not in relative:  # Alembic's DDL: no values at all
                yield relative, ast.parse(path.read_text(), relative)


def is_sql(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(SQL.search(node.value))


def safe(expression: ast.expr, file: str) -> bool:
    """True for a module constant or a deliberately quoted identifier."""
    if isinstance(expression, ast.Name):
        return bool(CONSTANT.match(expression.id)) or (file, expression.id) in QUOTED_IDENTIFIERS
    return isinstance(expression, ast.Constant)


def violations(file: str, tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        pasted: list[ast.expr] = []
        if isinstance(node, ast.JoinedStr) and any(is_sql(part) for part in node.values):
            pasted = [part.value for part in node.values if isinstance(part, ast.FormattedValue)]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and is_sql(node.left):
            pasted = list(node.right.elts) if isinstance(node.right, ast.Tuple) else [node.right]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and (is_sql(node.left) or is_sql(node.right)):
            pasted = [side for side in (node.left, node.right) if not is_sql(side)]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and is_sql(node.func.value)
        ):
            pasted = [*node.args, *(keyword.value for keyword in node.keywords)]
        for expression in pasted:
            if not safe(expression, file):
                yield f"{file}:{expression.lineno}: SQL text built with {ast.unparse(expression)}"


def test_sql_is_never_built_from_values() -> None:
    found = [problem for file, tree in sources() for problem in violations(file, tree)]
    assert not found, "\n".join(found)


def test_the_check_catches_pasted_values() -> None:
    samples = {
        "text(f\"SELECT * FROM users WHERE email = '{email}'\")": 1,
        '"DELETE FROM users WHERE id = %s" % user_id': 1,
        "\"UPDATE users SET name = '{}'\".format(name)": 1,
        '"SELECT * FROM users WHERE name = \'" + name + "\'"': 1,
        'f"SELECT {_COLUMNS} FROM users WHERE id = $1"': 0,
        'f"hello {name}"': 0,
    }
    for source, expected in samples.items():
        assert len(list(violations("sample.py", ast.parse(source)))) == expected, source
