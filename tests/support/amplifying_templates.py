"""Templates that grow a string past the render size limit (256 Ki characters by default) one step at a time,
each step a single C call that no deadline can interrupt: a sandbox that does not refuse them allocates about
50 million characters per render (hundreds of megabytes), yet prints only a number.

Each starts from a value under the limit (``SEED``, 200 000 characters) and doubles it ``STEPS`` times, or
multiplies it in one materialising step.
"""

from __future__ import annotations

SEED = "('x' * 200000)"
STEPS = 8


def _doubling_set_blocks() -> str:
    blocks = "".join(
        f"{{% set s{step + 1} %}}{{{{ s{step} }}}}{{{{ s{step} }}}}{{% endset %}}" for step in range(STEPS)
    )
    return f"{{% set s0 = {SEED} %}}{blocks}{{{{ s{STEPS} | length }}}}"


AMPLIFIERS = {
    "encode-hex chain": "{{ " + SEED + ".encode().hex()" * STEPS + " | length }}",
    "utf-32 latin-1 round trips": "{{ " + SEED + ".encode('utf-32').decode('latin-1')" * (STEPS // 2) + " | length }}",
    "macro": "{% macro twice(s) %}{{ s }}{{ s }}{% endmacro %}{{ "
    + "twice(" * STEPS
    + SEED
    + ")" * STEPS
    + " | length }}",
    "caller()": "{% macro twice() %}{{ caller() }}{{ caller() }}{% endmacro %}{% set text %}"
    + "{% call twice() %}" * STEPS
    + "{{ "
    + SEED
    + " }}"
    + "{% endcall %}" * STEPS
    + "{% endset %}{{ text | length }}",
    "set blocks": _doubling_set_blocks(),
    "filter block": "{% set s = " + SEED + " %}"
    "{% filter length | string %}{% for i in range(256) %}{{ s }}{% endfor %}{% endfilter %}",
    "block rendered again": "{% set s = " + SEED + " %}"
    "{% if false %}{% block b %}{% for i in range(256) %}{{ s }}{% endfor %}{% endblock %}{% endif %}"
    "{{ self.b() | length }}",
    "lazy sequence made a list": "{{ range(256) | map('center', 200000) | list | length }}",
}
"""Amplifying templates by name; each compiles, and each render must be refused."""

PRINTED_FUNCTION = "{{ 'x' | attr('format') }}"
"""A method printed instead of called: its text is an address."""

NESTED_LOOPS = "{% for i in [1] %}" * 25 + "x" + "{% endfor %}" * 25
"""More nested loops than Python compiles (20): must be a compile error, not a crash."""
