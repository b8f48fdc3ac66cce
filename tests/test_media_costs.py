"""Attachments priced before they are sent: hand-worked tokens and dollars, fitting, limits."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from media_support import jpeg_bytes, pdf_bytes, png_bytes
from PIL import Image

from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.tokens import count_text
from opus_magic.errors import UsageError
from opus_magic.media import ANTHROPIC, Attachment, Estimate, Estimator, load, prepare
from opus_magic.media.limits import MB, check
from opus_magic.media.rules import Claude, ClaudeHires, OpenAIPatches, OpenAITiles, rule_named

OPUS_46 = default_catalog().get("claude-opus-4-6")  # $5/M input, the 1,568-px rule, 1M window
OPUS_45 = default_catalog().get("claude-opus-4-5")  # a 200K window
OPUS_55 = default_catalog().get("claude-opus-5-5")  # the 2,576-px rule, text ×1.3
GPT_4O = default_catalog().get("gpt-4o")  # $2.50/M input, 512-px tiles, no PDFs


@pytest.fixture(scope="module")
def three() -> list[Attachment]:
    """A two-page Letter PDF and two images: a 4000×3000 photo and a 600×400 chart."""
    manual = load(pdf_bytes("Storage layer", "Storage layer"), "manual.pdf")
    return [manual, load(png_bytes(4000, 3000), "photo.png"), load(png_bytes(600, 400), "chart.png")]


def test_a_pdf_and_two_images_on_claude_opus_4_6(three: list[Attachment]) -> None:
    # manual.pdf, each Letter page (612×792 pt) rendered at 150 DPI = 1275×1650 px, fitted by
    # the 1,568-px rule: scale min(1568/1650, √(1,200,000/(1275·1650))) = 0.75526 → 962×1246,
    # 962·1246/750 = 1598.2 → 1,599 a page; its text "Storage layer\nStorage layer" is 5 tokens
    # (Storage, ␣layer, \n, Storage, ␣layer): 2·1,599 + 5 = 3,203.
    # photo.png 4000×3000: scale min(1568/4000, √(1,200,000/12,000,000)) = 0.31623 → 1264×948,
    # 1264·948/750 = 1597.8 → 1,598.  chart.png 600×400: 240,000/750 = 320.
    # Total 3,203 + 1,598 + 320 = 5,121 tokens at $5/M = $0.025605.
    assert count_text("Storage layer\nStorage layer", "claude-opus-4-6") == 5
    ready = prepare(three, OPUS_46)
    assert [e.tokens for e in ready.estimates] == [3203, 1598, 320]
    assert ready.tokens == 5121 and not ready.at_most
    assert ready.cost(OPUS_46) == Decimal("0.025605")
    assert ready.estimates[0].how == "2 pages: 3,198 as page images + 5 of text = 3,203"
    photo = ready.attachments[1]
    assert photo.pixels == (1264, 948) and photo.notes[-1] == (
        "downscaled from 4000×3000 to 1264×948 (claude-opus-4-6 uses no more)")
    assert ready.attachments[2] is three[2]  # small enough: sent as it was


def test_two_images_on_gpt_4o_and_the_pdf_refused(three: list[Attachment]) -> None:
    # photo.png 4000×3000: fit in 2048² (×0.512) → 2048×1536, short side to 768 (×0.5) →
    # 1024×768: ⌈1024/512⌉·⌈768/512⌉ = 2·2 tiles, 85 + 170·4 = 765.
    # chart.png 600×400 (no fitting): 2·1 tiles, 85 + 170·2 = 425.
    # Total 765 + 425 = 1,190 tokens at $2.50/M = $0.002975.
    ready = prepare(three[1:], GPT_4O)
    assert [e.tokens for e in ready.estimates] == [765, 425]
    assert ready.cost(GPT_4O) == Decimal("0.002975")
    assert ready.attachments[0].pixels == (1024, 768)
    with pytest.raises(UsageError, match=r"^gpt-4o takes text and images, not PDFs \(manual.pdf\)"):
        prepare(three, GPT_4O)
    # Were it sent (an endpoint with file parts), each page 1275×1650 → short side 768 →
    # 768×993: 2·2 tiles = 765, plus 5 tokens of text: 2·765 + 5 = 1,535.
    assert Estimator.for_model(GPT_4O).estimate(three[0]).tokens == 1535
    assert Estimator.for_model(GPT_4O, detail="low").estimate(three[1]).tokens == 85


def test_the_2576_px_rule_and_the_text_ratio_on_opus_5_5() -> None:
    # The measured 2356×1530 image (count_tokens: 4,678): ⌈2356/28⌉·⌈1530/28⌉ = 85·55 = 4,675.
    assert ClaudeHires().count(2356, 1530).tokens == 4675
    # At the cap: 2576 wide, 92 patches across; 52 down is 4,784, the most an image costs.
    assert ClaudeHires().count(2576, 1456).tokens == 4784
    assert ClaudeHires().count(8000, 8000).tokens <= 4784
    notes = load(b"The storage layer keeps pages.\n" * 10, "notes.txt")
    tiktoken_count = count_text(notes.text or "", "claude-opus-5-5")
    assert Estimator.for_model(OPUS_55).estimate(notes).tokens == -(-tiktoken_count * 13 // 10)
    ready = prepare([load(png_bytes(4000, 3000), "photo.png")], OPUS_55)
    assert ready.attachments[0].pixels == (2212, 1659) and ready.tokens == 79 * 60


@pytest.mark.parametrize(("rule", "size", "tokens"), [
    (Claude(), (1092, 1092), 1590),  # Anthropic's table: 1092×1092 ≈ 1,590
    (Claude(), (200, 200), 54),  # 40,000/750 = 53.3
    (OpenAITiles(), (2048, 4096), 1105),  # OpenAI's example: 768×1536, 6 tiles
    (OpenAITiles(), (1024, 1024), 765),
    (OpenAITiles(base=2833, per_tile=5667), (512, 512), 8500),  # gpt-4o-mini's figures
    (OpenAIPatches(Decimal("1.2")), (1024, 1024), 1229),  # 32·32 = 1,024 patches × 1.2
    (OpenAIPatches(), (1800, 2400), 1452),  # over 1,536 patches: shrunk to 1,452
])
def test_image_rules(rule, size, tokens) -> None:
    assert rule.count(*size).tokens == tokens


def test_rules_are_named_by_catalog_data() -> None:
    assert rule_named("claude-hires") == ClaudeHires() and rule_named(None) is None
    assert rule_named("openai-patches:1.62") == OpenAIPatches(Decimal("1.62"))
    assert rule_named("openai-tiles:2833/5667") == OpenAITiles(base=2833, per_tile=5667)
    assert rule_named("openai-tiles:oops") is None and rule_named("nobody") is None


def test_an_image_by_url_is_counted_at_most_and_a_pdf_by_url_unknown() -> None:
    ready = prepare([load("https://example.org/chart.png")], OPUS_46)
    assert ready.tokens == 1600 and ready.at_most
    unknown = prepare([load("https://example.org/manual.pdf")], OPUS_46)
    assert unknown.tokens is None and unknown.cost(OPUS_46) is None


def test_more_than_20_images_are_fitted_to_2000_px_saying_why() -> None:
    wide = load(png_bytes(2500, 10), "wide.png")
    ready = prepare([wide] * 21, OPUS_55)
    assert ready.attachments[0].pixels == (2000, 8)
    assert ready.attachments[0].notes[-1].endswith("(more than 20 images: 2,000 px a side at most)")
    assert prepare([wide], OPUS_55).attachments[0].pixels == (2500, 10)


def one_line(attachments, estimates=(), info=OPUS_46, model="claude-opus-4-6") -> str:
    with pytest.raises(UsageError) as caught:
        check(attachments, estimates, info, model, ANTHROPIC)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def synthetic(kind: str, **facts) -> Attachment:
    media_type = {"image": "image/png", "pdf": "application/pdf"}[kind]
    return Attachment(name=facts.pop("name", f"a.{kind}"), media_type=media_type, kind=kind,
                      data=b"x", **facts)


def test_every_limit_is_refused_in_one_line_naming_it() -> None:
    big = synthetic("pdf", name="big.pdf", size=13 * MB, pages=1)
    assert "over the 32 MB a request (Anthropic; the largest is big.pdf)" in one_line([big, big])
    assert "101 PDF pages, over the 100-page cap" in one_line(
        [synthetic("pdf", pages=101)], info=OPUS_45, model="claude-opus-4-5")
    assert "601 PDF pages, over the 600-page cap" in one_line([synthetic("pdf", pages=601)])
    assert "over claude-opus-4-6's 1,000,000-token window" in one_line(
        [synthetic("pdf", pages=500)], [Estimate("a.pdf", 1_200_000, "500 pages")])
    assert "9000×20 px, over the 8,000 px a side" in one_line([synthetic("image", pixels=(9000, 20))])
    many = [synthetic("image", pixels=(100, 100))] * 20 + [synthetic("image", pixels=(2100, 9))]
    assert "over the 2,000 px a side Anthropic takes when a request holds more than 20" in one_line(many)
    assert "101 images, over the 100 a request" in one_line(
        [synthetic("image", pixels=(9, 9))] * 101, info=OPUS_45, model="claude-opus-4-5")
    assert "601 images, over the 600" in one_line([synthetic("image", pixels=(9, 9))] * 601)
    check([synthetic("image", pixels=(9, 9))] * 600, (), OPUS_46, "claude-opus-4-6", ANTHROPIC)


def test_an_unfitted_large_image_is_refused_before_sending() -> None:
    huge = load(png_bytes(8100, 10), "strip.png")
    with pytest.raises(UsageError, match=r"^strip.png is 8100×10 px, over the 8,000 px"):
        prepare([huge], OPUS_46, fit=False)
    assert prepare([huge], OPUS_46).attachments[0].pixels == (1568, 1)


def test_a_downscaled_jpeg_stays_jpeg_and_a_gif_becomes_a_png_of_its_first_frame() -> None:
    photo = prepare([load(jpeg_bytes(3136, 100), "wide.jpg")], OPUS_46).attachments[0]
    assert (photo.media_type, photo.pixels) == ("image/jpeg", (1568, 50))
    assert photo.data is not None and photo.data.startswith(b"\xff\xd8\xff")
    out = io.BytesIO()
    Image.new("P", (3136, 100)).save(out, format="GIF")
    gif = prepare([load(out.getvalue(), "anim.gif")], OPUS_46).attachments[0]
    assert (gif.media_type, gif.pixels) == ("image/png", (1568, 50))
    assert gif.notes[-1].endswith("uses no more), sent as PNG")
    assert gif.sha256 != load(out.getvalue()).sha256 and gif.size == len(gif.data or b"")
