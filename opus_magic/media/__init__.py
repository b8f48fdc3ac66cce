"""Attachments (documents, images, text) loaded, checked against the APIs' limits and priced
before they are sent; pure: no network, and it reads only the bytes and paths it is given."""
from __future__ import annotations

from opus_magic.media.attachment import KINDS, Attachment
from opus_magic.media.estimate import Estimate, Estimator
from opus_magic.media.limits import ANTHROPIC, OPENAI, Limits, limits_for
from opus_magic.media.loaders import load
from opus_magic.media.prepared import Prepared, prepare
from opus_magic.media.rules import ImageCount, ImageRule, rule_named

__all__ = ("ANTHROPIC", "KINDS", "OPENAI", "Attachment", "Estimate", "Estimator", "ImageCount",
           "ImageRule", "Limits", "Prepared", "limits_for", "load", "prepare", "rule_named")
