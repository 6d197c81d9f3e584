"""Sandboxed Jinja2 rendering of untrusted templates, shared by template_svc and any service that renders
in-process. One implementation: :class:`TemplateRenderer`, its :class:`RenderLimits`, and typed errors."""

from templating.content import Sender, rendered_response, template_parts
from templating.context import render_context, variables_from_json, variables_from_struct
from templating.errors import (
    CompileError,
    ControlCharacterInHeader,
    LineBreakInHeader,
    MissingVariable,
    OutputTooLarge,
    RefusedConstruct,
    RenderFailed,
    RenderTooSlow,
    TemplateError,
)
from templating.renderer import HTML_PARTS, SINGLE_LINE_PARTS, RenderLimits, TemplateRenderer

__all__ = [
    "HTML_PARTS",
    "SINGLE_LINE_PARTS",
    "CompileError",
    "ControlCharacterInHeader",
    "LineBreakInHeader",
    "MissingVariable",
    "OutputTooLarge",
    "RefusedConstruct",
    "RenderFailed",
    "RenderLimits",
    "RenderTooSlow",
    "Sender",
    "TemplateError",
    "TemplateRenderer",
    "render_context",
    "rendered_response",
    "template_parts",
    "variables_from_json",
    "variables_from_struct",
]
