"""A grid's summary that can tell: intervals, paired verdicts and cost per correct answer, through
`%%opus --each` against the simulator over real HTTP.

The simulator answers "Answer with one of: yes, no." with the option the rest of the prompt
names, and guesses (the same way for the same request) when it names neither: so a row whose
text names its label passes, and a row that names nothing passes half the time, independently
for each variant. That makes a pass rate (and a gap between two variants) whatever the rows say.
"""
from __future__ import annotations

import random
import re
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

import opus_magic
from opus_magic.errors import UsageError
from opus_magic.notebook.present import last_view
from opus_magic.stats import wilson
from opus_magic.view import format as fmt
from opus_magic.view.grid.widget import GridView

ASK = "Answer with one of: yes, no.\n"


def rows(count: int, named: float, seed: int, named_by: float | None = None) -> list[dict]:
    """count rows with a yes/no label; `named` of them name it in `a`, `named_by` of them (a
    subset, default the same) in `b`; the rest say nothing about it."""
    rng = random.Random(seed)
    shown_b = named if named_by is None else named_by
    out = []
    for i in range(count):
        label = rng.choice(("yes", "no"))
        u = rng.random()
        blank = f"case {seed}-{i}: nothing to go on"
        out.append({"label": label,
                     "a": f"case {seed}-{i}: it says {label}" if u < named else blank,
                     "b": f"case {seed}-{i}: it says {label}" if u < shown_b else blank})
    return out


def run_grid(ip: Any, data: list[dict], variants: dict[str, str], extra: str = "") -> str:
    ip.user_ns.update(data=data, prompts=variants)
    ip.run_cell_magic("opus", f"--each data --variants prompts -m haiku --max-tokens 5 "
                      f"--check equals:label -o out {extra}", "# from prompts")
    return ip.user_ns["out"]


def test_pass_rates_show_their_wilson_interval_and_counts(ip, simulator, capsys) -> None:
    data = rows(30, named=0.8, seed=1)
    frame = run_grid(ip, data, {"a": ASK + "{a}", "b": ASK + "{b} "})
    out = capsys.readouterr().out
    summary = opus_magic.summary()
    for variant in ("a", "b"):
        cells = frame[frame["variant"] == variant]
        passes = int(cells["passed"].sum())
        expected = wilson(passes, 30)
        low, high = proportion_confint(passes, 30, alpha=0.05, method="wilson")
        row = summary[summary["variant"] == variant].iloc[0]
        assert row["passes"] == passes and row["tries"] == 30
        assert row["pass_rate"] == pytest.approx(passes / 30)
        assert row["pass_rate_low"] == pytest.approx(low, abs=1e-4) == expected.low
        assert row["pass_rate_high"] == pytest.approx(high, abs=1e-4) == expected.high
        shown = (f"{passes / 30 * 100:.0f} % ({expected.low * 100:.0f}–"
                 f"{expected.high * 100:.0f} %) {passes}/30")
        assert shown in out
    # cost per call and per correct answer, each a Decimal beside its bootstrap interval
    for _, row in summary.iterrows():
        assert isinstance(row["cost_per_call"], Decimal)
        assert row["cost_per_call_low"] <= row["cost_per_call"] <= row["cost_per_call_high"]
        total = sum(frame[frame["variant"] == row["variant"]]["cost"], Decimal(0))
        assert row["cost_per_correct"] == (total / row["passes"]).quantize(Decimal("1e-9"))
        assert row["cost_per_correct"] > row["cost_per_call"]
        assert row["latency_s_low"] <= row["latency_s"] <= row["latency_s_high"]
    assert "cost per correct" in out and "seed 0" in out and "2,000 resamples" in out


def test_a_real_ten_point_gap_on_400_rows_names_the_winner(ip, simulator, capsys) -> None:
    data = rows(400, named=0.8, named_by=0.6, seed=7)  # about 90 % against 80 %
    frame = run_grid(ip, data, {"rich": ASK + "{a}", "thin": ASK + "{b}"})
    out = capsys.readouterr().out
    rates = frame.groupby("variant")["passed"].mean()
    assert 0.07 < rates["rich"] - rates["thin"] < 0.13
    assert "Winner: rich/haiku, better than every other arm on the same 400 rows" in out
    pair = opus_magic.summary().attrs["pairs"][0]
    wide = frame.pivot(index="row", columns="variant", values="passed")
    table = pd.crosstab(wide["thin"], wide["rich"]).reindex(
        index=[True, False], columns=[True, False], fill_value=0)
    assert pair["p_value"] == pytest.approx(mcnemar(table.values, exact=True).pvalue, rel=1e-9)
    assert pair["significant"] and pair["p_value"] < 0.001
    summary = opus_magic.summary()
    assert list(summary[summary["winner"]]["variant"]) == ["rich"]


def test_two_identical_variants_never_name_a_winner_over_50_seeded_repeats(ip, simulator,
                                                                             capsys) -> None:
    named = 0
    for seed in range(50):
        data = rows(40, named=0.5, seed=1000 + seed)
        # the same information, worded apart only so each variant guesses on its own
        run_grid(ip, data, {"one": ASK + "{a}", "two": ASK + "{a} "})
        out = capsys.readouterr().out
        named += "Winner:" in out
        assert "Winner:" in out or re.search(
            r"No detectable difference on 40 rows; about [\d,]+ rows would detect a 5-point "
            r"gap", out)
    assert named <= 4  # at most 5 % + noise (McNemar's exact test at α = 0.05: 2 with these seeds)


def test_a_cheaper_arm_as_good_within_noise_is_named_with_its_cost_share(ip, simulator,
                                                                          capsys) -> None:
    # 90 % of the rows name their label; on the others each model guesses: opus a little
    # luckier with this seed, haiku as good within noise at a fraction of the price
    ip.user_ns.update(data=rows(40, named=0.9, seed=5))
    ip.run_cell_magic("opus", "--each data -m opus,haiku --max-tokens 5 --check equals:label",
                      ASK + "{a}")
    out = capsys.readouterr().out
    summary = opus_magic.summary().set_index("model")
    assert summary.loc["opus", "best"] and summary.loc["opus", "passes"] > summary.loc[
        "haiku", "passes"]
    assert "No detectable difference on 40 rows" in out
    found = re.search(r"cell/haiku is as good as cell/opus within noise, at 1/(\d+) the cost "
                      r"per correct answer", out)
    per_correct = summary["cost_per_correct"]
    assert found and int(found[1]) == round(per_correct["opus"] / per_correct["haiku"]) > 10


def test_grid_and_compare_by_tag_show_intervals_and_the_verdict(ip, simulator, capsys) -> None:
    data = rows(60, named=0.9, named_by=0.3, seed=5)
    ip.user_ns.update(data=data)
    ip.run_cell_magic("opus", "--each data -m haiku --max-tokens 5 --check equals:label --tag a",
                      ASK + "{a}")
    ip.run_cell_magic("opus", "--each data -m haiku --max-tokens 5 --check equals:label --tag b",
                      ASK + "{b}")
    capsys.readouterr()
    ip.run_line_magic("opus", "grid")
    shown = capsys.readouterr().out
    assert re.search(r"\d+ % \(\d+–\d+ %\) \d+/60", shown) and "95 % intervals" in shown
    ip.run_line_magic("opus", "compare --tag a --tag b")
    compared = capsys.readouterr().out
    assert "a: cell/haiku" in compared and "b: cell/haiku" in compared
    assert "Winner: a: cell/haiku, better than every other arm on the same 60 rows" in compared
    assert re.search(r"\d+ % \(\d+–\d+ %\) \d+/60", compared)


def test_a_grid_without_checks_shows_cost_and_latency_intervals_only(ip, simulator,
                                                                      capsys) -> None:
    ip.user_ns["words"] = ["cache", "stream", "token"]
    ip.run_cell_magic("opus", "--each words -m haiku --max-tokens 10", "Define {item}.")
    out = capsys.readouterr().out
    assert "Winner" not in out and "Wilson" not in out and "cost per call" in out
    summary = opus_magic.summary()
    assert summary["pass_rate"].isna().all() and summary["cost_per_call"].notna().all()


def test_summary_of_an_unknown_grid_says_what_to_do(ip, simulator) -> None:
    with pytest.raises(UsageError, match="no grid 'nosuchgrid': run %%opus --each"):
        opus_magic.summary("nosuchgrid")


def test_the_widget_and_its_saved_text_show_intervals_the_verdict_and_a_projection(
        ip, simulator) -> None:
    ip.run_line_magic("config", "OpusMagics.view = 'widget'")
    ip.user_ns.update(data=rows(400, named=0.8, named_by=0.6, seed=7),
                      prompts={"rich": ASK + "{a}", "thin": ASK + "{b}"})
    ip.run_cell("%%opus --each data --variants prompts -m haiku --max-tokens 5 "
                "--check equals:label --sample 60 --seed 2\n#")
    view = last_view()
    assert isinstance(view, GridView)
    shown = view.summary.value
    assert re.search(r"\d+ % \(\d+–\d+ %\) \d+/60", shown)
    assert "opus-grid-verdict" in shown and "95 % intervals: Wilson" in shown
    assert "opus-grid-forecast" in shown and "400 rows: $" in shown
    saved = view.saved["text/plain"]  # what the display keeps for a saved notebook
    assert re.search(r"\d+ % \(\d+–\d+ %\) \d+/60", saved) and "400 rows: $" in saved


def test_a_scoring_check_shows_its_mean_score_with_an_interval(ip, simulator, capsys) -> None:
    ip.user_ns.update(data=rows(30, named=0.7, seed=9),
                      prompts={"a": ASK + "{a}", "b": ASK + "{b} "})
    ip.user_ns["graded"] = lambda answer, row: 0.9 if answer.strip() == row["label"] else 0.2
    frame = run_grid(ip, ip.user_ns["data"], ip.user_ns["prompts"], "--check graded")
    out = capsys.readouterr().out
    assert "mean score" in out
    summary = opus_magic.summary().set_index("variant")
    for variant in ("a", "b"):
        scores = frame[frame["variant"] == variant]["check graded"]
        assert summary.loc[variant, "score"] == pytest.approx(scores.mean())
        assert summary.loc[variant, "score_low"] <= scores.mean() <= summary.loc[
            variant, "score_high"]
        shown = (f"{scores.mean():.2f} ({summary.loc[variant, 'score_low']:.2f}–"
                 f"{summary.loc[variant, 'score_high']:.2f})")
        assert shown in out


def test_answers_reused_from_another_grid_count_what_they_cost_to_make(ip, simulator,
                                                                      capsys) -> None:
    ip.user_ns.update(data=rows(12, named=0.8, seed=12))
    line = "--each data -m haiku --max-tokens 5 --check equals:label -o out --tag"
    ip.run_cell_magic("opus", f"{line} first", ASK + "{a}")
    made = opus_magic.summary().iloc[0]
    ip.run_cell_magic("opus", f"{line} again", ASK + "{a}")  # another grid: every answer reused
    again = ip.user_ns["out"]
    assert (again["status"] == "reused").all() and sum(again["cost"], Decimal(0)) == 0
    live = capsys.readouterr().out
    reused = opus_magic.summary().iloc[0]  # from history
    assert reused["total_cost"] == 0  # this grid paid nothing
    for column in ("cost_per_call", "cost_per_call_low", "cost_per_correct"):
        assert reused[column] == made[column] > 0  # but its answers cost what they cost
    assert "$0.00; ran 0" in live and money_interval(made) in live


def money_interval(row: Any) -> str:
    return (f"{fmt.money(row['cost_per_call'])} ({fmt.money(row['cost_per_call_low'])[1:]}–"
            f"{fmt.money(row['cost_per_call_high'])[1:]})")
