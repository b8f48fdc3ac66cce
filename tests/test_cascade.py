"""Cascades through `%%opus --each … --cascade` against the simulator over real HTTP: the rows the
cheap model gets wrong (and only those) go on, costs are the catalog's prices × the recorded
usage, --compare measures the saving, and a budget that runs out leaves rows unsettled, named."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import opus_magic
from opus_magic.core.session import default_session
from opus_magic.store.batches import list_batches
from opus_magic.view.format import money

PROMPT = "Classify this ticket. Answer with one of: billing, bug, other.\n{subject}\n{body}"
TICKETS = [
    {"subject": "Charged twice", "body": "The billing page charged me twice.", "label": "billing"},
    {"subject": "Export crash", "body": "A bug: export crashes the app.", "label": "bug"},
    {"subject": "Office hours", "body": "Some other question for the team.", "label": "other"},
    {"subject": "Refund", "body": "Please refund the billing error.", "label": "billing"},
    {"subject": "Login fails", "body": "A bug in login since Monday.", "label": "bug"},
    {"subject": "Swag", "body": "Do you sell other things, like mugs?", "label": "other"},
    {"subject": "Invoice", "body": "The invoice in billing shows the wrong VAT.",
     "label": "billing"},
    {"subject": "Crash on save", "body": "Saving hits a bug and closes.", "label": "bug"},
    {"subject": "Careers", "body": "An other question: are you hiring?", "label": "other"},
    {"subject": "Card declined", "body": "Billing declines my new card.", "label": "billing"},
]
# $ per million tokens (input, output), the catalog's for the 5.5 generation
PRICES = {"claude-haiku-5-5": (Decimal("0.10"), Decimal("0.50")),
          "claude-sonnet-5-5": (Decimal(2), Decimal(10)),
          "claude-opus-5-5": (Decimal(4), Decimal(20))}
CASCADE = "--each tickets --cascade haiku,sonnet,opus --max-tokens 5 --check equals:label"


def prompts_to(simulator: Any, word: str) -> list[str]:
    return [r.messages[-1]["content"] for r in simulator.requests() if word in r.model]


def prompt_of(row: dict[str, str]) -> str:
    return PROMPT.format(**row)


def by_stage(stage: int | None) -> list[Any]:
    return [r for r in opus_magic.history(limit=200) if r.grid_id and r.stage == stage]


def test_only_the_rows_the_cheap_model_gets_wrong_go_on(ip, simulator, capsys) -> None:
    simulator.configure(accuracy={"haiku": 0.5})  # sonnet and opus pick the evident label
    ip.user_ns["tickets"] = TICKETS
    ip.run_cell_magic("opus", CASCADE + " --dry-run", PROMPT)
    opus_input = int(re.search(r"  opus: 10 cells · ([\d,]+) input tokens",
                               capsys.readouterr().out).group(1).replace(",", ""))
    ip.run_cell_magic("opus", CASCADE + " -o paths", PROMPT)
    first = {r.row: r for r in by_stage(1)}
    wrong = {row for row, r in first.items() if r.text.strip() != TICKETS[row]["label"]}
    assert sorted(first) == list(range(len(TICKETS)))
    assert 0 < len(wrong) < len(TICKETS)  # the seeded draw fails some rows, not all
    assert sorted(prompts_to(simulator, "sonnet")) == sorted(prompt_of(TICKETS[r]) for r in wrong)
    assert prompts_to(simulator, "opus") == []  # sonnet settled every row it was given
    assert {r.row for r in by_stage(2)} == wrong and by_stage(3) == []
    assert len({r.grid_id for r in by_stage(1) + by_stage(2)}) == 1
    frame = ip.user_ns["paths"]
    assert list(frame["stage"]) == [2 if row in wrong else 1 for row in range(len(TICKETS))]
    assert list(frame["path"]) == ["haiku ✗ → sonnet ✓" if row in wrong else "haiku ✓"
                                   for row in range(len(TICKETS))]
    assert frame["passed"].all() and list(frame["answer"]) == [t["label"] for t in TICKETS]
    assert frame.attrs["settled"] == {"haiku": len(TICKETS) - len(wrong), "sonnet": len(wrong),
                                      "opus": 0}
    out = capsys.readouterr().out
    settled = len(TICKETS) - len(wrong)
    assert (f"haiku {settled} ({settled / len(TICKETS) * 100:.0f} %) · sonnet {len(wrong)} "
            f"({len(wrong) / len(TICKETS) * 100:.0f} %) · opus 0 (0 %)") in out
    assert "haiku ✗ → sonnet ✓" in out and "Run it with --compare" in out
    # opus alone, estimated before it runs: its prices × the rows' pre-flight input counts and
    # the length of each row's answer
    answers = {r.row: r for r in by_stage(1) + by_stage(2) if r.stage == 2 or r.row not in wrong}
    tokens = sum(r.usage.output_tokens for r in answers.values())
    alone = (opus_input * 4 + tokens * 20) / Decimal(1_000_000)
    assert (f"spent against {money(alone, estimated=True)} for opus alone on the 10 rows reached "
            f"(estimate)") in out
    million = Decimal(1_000_000)
    low, high = opus_input * 4 / million, (opus_input * 4 + 10 * 5 * 20) / million
    assert (f"opus alone on every row: {money(low, estimated=True)} … "
            f"{money(high, estimated=True)} (its prices × the pre-flight counts") in out


def hand_cost(record: Any) -> Decimal:
    per_in, per_out = PRICES[record.response_model or record.model]
    usage = record.usage
    return (usage.input_tokens * per_in + usage.output_tokens * per_out) / 1_000_000


def test_each_stage_costs_the_catalog_price_of_its_usage(ip, simulator, capsys) -> None:
    simulator.configure(accuracy={"haiku": 0.0, "sonnet": 0.5})  # haiku never right
    ip.user_ns["tickets"] = TICKETS
    ip.run_cell_magic("opus", CASCADE + " -o paths", PROMPT)
    frame = ip.user_ns["paths"]
    attempts = [r for r in opus_magic.history(limit=200) if r.grid_id]
    assert {r.stage for r in attempts} == {1, 2, 3}
    for record in attempts:
        assert record.cost_exact and record.cost == hand_cost(record)
    stages = {s: sum((hand_cost(r) for r in attempts if r.stage == s), Decimal(0))
              for s in (1, 2, 3)}
    for row, cost in enumerate(frame["cost"]):
        assert cost == sum((hand_cost(r) for r in attempts if r.row == row), Decimal(0))
    assert sum(frame["cost"]) == sum(stages.values())
    assert (frame["attempts"] == frame["stage"]).all()  # every row went stage by stage
    cascade, opus = frame.attrs["sides"]  # every row counts, those opus answered included
    assert cascade["rows"] == opus["rows"] == 10 and cascade["total"] == sum(stages.values())
    assert opus["estimated"] and opus["passes"] is None
    out = capsys.readouterr().out
    spent = re.search(r"Cascade done · .*? · (\$[\d.]+) spent against (≈\$[\d.]+) for opus alone "
                      r"on the 10 rows reached \(estimate\)", out)
    assert spent is not None, out
    assert spent.group(1) == money(sum(stages.values()))
    opus = [r for r in attempts if r.stage == 3]  # measured where opus answered: its own cost
    assert opus and all(r.input_estimate for r in opus)


def test_compare_measures_the_saving_against_the_last_model_alone(ip, simulator,
                                                                   capsys) -> None:
    simulator.configure(accuracy={"haiku": 0.5})
    ip.user_ns["tickets"] = TICKETS
    ip.run_cell_magic("opus", CASCADE + " -o paths", PROMPT)
    estimated = ip.user_ns["paths"].attrs["summary"]
    ip.run_cell_magic("opus", CASCADE + " --compare -o measured", PROMPT)
    frame = ip.user_ns["measured"]
    assert sorted(prompts_to(simulator, "opus")) == sorted(prompt_of(t) for t in TICKETS)
    assert len(prompts_to(simulator, "haiku")) == len(TICKETS)  # the cascade itself was reused
    alone = [r for r in opus_magic.history(limit=200) if r.grid_id and "opus" in r.model]
    assert all(r.stage is None for r in alone) and len(alone) == len(TICKETS)
    assert list(frame["opus alone cost"]) == [hand_cost(r) for r in sorted(alone,
                                                                            key=lambda r: r.row)]
    saved = 1 - sum(frame["cost"]) / sum(frame["opus alone cost"])
    summary = frame.attrs["summary"]
    shown = re.search(r"saves (\d+) % \((-?\d+)–(\d+) %\)", summary)
    assert shown is not None, summary
    assert int(shown.group(1)) == round(saved * 100)
    assert int(shown.group(2)) <= int(shown.group(1)) <= int(shown.group(3))
    cascade, opus = frame.attrs["sides"]
    assert cascade["saving"] == opus["saving"] == float(saved)
    assert cascade["total"] == sum(frame["cost"]) and opus["total"] == sum(frame["opus alone cost"])
    assert opus["passes"] == int(frame["opus alone passed"].sum()) and not opus["estimated"]
    assert cascade["cost per correct low"] <= cascade["cost per correct"] <= \
        cascade["cost per correct high"]
    assert "pass rate above opus's interval" in summary or "within" in summary
    assert "≈" in estimated and "estimated from its prices" in estimated
    out = capsys.readouterr().out
    assert "opus alone" in out and "(measured)" in out and "cost per correct" in out


def test_a_budget_that_runs_out_mid_cascade_names_the_rows_left(ip, simulator, capsys) -> None:
    simulator.configure(accuracy={"haiku": 0.0})  # every row needs sonnet
    ip.user_ns["tickets"] = TICKETS
    ip.run_cell_magic("opus", CASCADE + " --dry-run", PROMPT)
    worst = {m: Decimal(v) for m, v in re.findall(r"  (\w+): \d+ cells .*? … ≈\$([\d.]+)",
                                                  capsys.readouterr().out)}
    cap = worst["haiku"] + worst["sonnet"] * Decimal("0.35")  # room for about 3 rows on sonnet
    ip.run_line_magic("opus", f"budget {cap}")
    ip.run_cell_magic("opus", CASCADE + " -o paths", PROMPT)
    out = capsys.readouterr().out
    frame = ip.user_ns["paths"]
    second = {r.row for r in by_stage(2)}
    left = [row for row in range(len(TICKETS)) if row not in second]
    assert 0 < len(second) < len(TICKETS) and prompts_to(simulator, "opus") == []
    assert list(frame.loc[~frame["settled"], "row"]) == left
    assert frame.loc[~frame["settled"], "why not settled"].str.contains("budget").all()
    assert f"{len(left)} rows not settled" in out
    assert f"rows {', '.join(map(str, left))}: over the session budget (worst case" in out
    assert "Traceback" not in out and default_session().spent <= cap


def graded(answer: str, row: dict[str, str]) -> float:
    """A score check: 1 for the label, 0.4 for any other answer."""
    return 1.0 if answer.strip() == row["label"] else 0.4


def test_a_lenient_accept_loses_quality_and_names_the_rows(ip, simulator) -> None:
    simulator.configure(accuracy={"haiku": 0.5})
    ip.user_ns.update(tickets=TICKETS, graded=graded)
    ip.run_cell_magic("opus", "--each tickets --cascade haiku,opus --max-tokens 5 --check graded "
                      "--accept 0.3 --compare -o paths", PROMPT)
    frame = ip.user_ns["paths"]
    wrong = [row for row, answer in enumerate(frame["answer"]) if answer != TICKETS[row]["label"]]
    assert wrong and set(frame["stage"]) == {1}  # 0.4 is accepted at --accept 0.3: no row went on
    assert list(frame.loc[~frame["passed"], "row"]) == wrong  # but 0.4 does not pass
    assert frame["opus alone passed"].all()
    summary = frame.attrs["summary"]
    assert summary.startswith("The cascade loses quality:")
    assert summary.endswith(f"Rows opus alone got right and the cascade did not: "
                            f"{', '.join(map(str, wrong))}.")


def test_running_it_again_reuses_every_attempt(ip, simulator, capsys) -> None:
    simulator.configure(accuracy={"haiku": 0.5})
    ip.user_ns["tickets"] = TICKETS
    ip.run_cell_magic("opus", CASCADE + " -o first", PROMPT)
    sent = len(simulator.requests())
    ip.run_cell_magic("opus", CASCADE + " -o again", PROMPT)
    assert len(simulator.requests()) == sent
    first, again = ip.user_ns["first"], ip.user_ns["again"]
    assert list(first["path"]) == list(again["path"]) and list(first["cost"]) == list(again["cost"])
    grid_id = opus_magic.last_run().grid_id
    capsys.readouterr()
    ip.run_line_magic("opus", f"stats --grid {grid_id}")
    assert money(sum(first["cost"])) in capsys.readouterr().out


def test_bad_cascade_flags_say_what_to_do(ip, simulator, capsys) -> None:
    ip.user_ns["tickets"] = TICKETS
    for line, message in [
            (CASCADE.replace("haiku,sonnet,opus", "haiku"), "name two or more different models"),
            (CASCADE.replace(" --check equals:label", ""), "needs a --check"),
            (CASCADE + " -m opus", "drop -m"),
            (CASCADE + " --accept 2", "--accept 2: use a score from 0 to 1"),
            (CASCADE + " --sample 3", "drop --sample"),
            (CASCADE.replace("--cascade haiku,sonnet,opus", "-m haiku") + " --compare",
             "--accept and --compare go with --cascade"),
            (CASCADE + " --repeat 3", "drop --repeat"),
            ("--compare", "--cascade (--accept, --compare) and --batch need --each VAR")]:
        ip.run_cell_magic("opus", line, PROMPT)
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert simulator.requests() == []
    ip.run_line_magic("opus", "help")
    shown = capsys.readouterr().out
    assert all(flag in shown for flag in ("--cascade A,B,C", "--accept SCORE", "--compare"))


def test_with_batch_each_stage_is_a_batch_sent_once_the_last_is_collected(ip, simulator,
                                                                          capsys) -> None:
    simulator.configure(accuracy={"haiku": 0.5})
    ip.user_ns["tickets"] = TICKETS
    ip.run_cell_magic("opus", CASCADE + " --dry-run", PROMPT)
    opus_input = int(re.search(r"  opus: 10 cells · ([\d,]+) input tokens",
                               capsys.readouterr().out).group(1).replace(",", ""))
    ip.run_cell_magic("opus", CASCADE + " --batch -o paths", PROMPT)
    attempts = [r for r in opus_magic.history(limit=200) if r.grid_id]
    first = [r for r in attempts if r.stage == 1]
    second = [r for r in attempts if r.stage == 2]
    wrong = {r.row for r in first if r.text.strip() != TICKETS[r.row]["label"]}
    assert len(first) == len(TICKETS) and {r.row for r in second} == wrong
    session = default_session()
    batches = {b.id: b for b in list_batches(session.store(session.settings()))}
    one, two = {r.batch_id for r in first}, {r.batch_id for r in second}
    assert len(one) == len(two) == 1 and one != two
    assert batches[one.pop()].collected_at <= batches[two.pop()].submitted_at
    for record in attempts:  # the batch price: half of every token
        assert record.cost == hand_cost(record) / 2
    frame = ip.user_ns["paths"]
    assert frame["passed"].all() and list(frame["stage"]) == [
        2 if row in wrong else 1 for row in range(len(TICKETS))]
    out = capsys.readouterr().out
    assert "Stage 2: Batch: " + f"{len(wrong)} cells to submit" in out
    answers = {r.row: r for r in sorted(attempts, key=lambda r: r.stage)}  # the answer that stands
    tokens = sum(r.usage.output_tokens for r in answers.values())
    alone = (opus_input * 4 + tokens * 20) / Decimal(2_000_000)  # opus alone, at the batch price
    assert f"against {money(alone, estimated=True)} for opus alone on the 10 rows" in out


def test_a_batch_stage_over_the_budget_is_not_sent_and_its_rows_are_named(ip, simulator,
                                                                         capsys) -> None:
    simulator.configure(accuracy={"haiku": 0.0})  # every row needs sonnet
    ip.user_ns["tickets"] = TICKETS
    ip.run_cell_magic("opus", CASCADE + " --dry-run", PROMPT)
    worst = {m: Decimal(v) for m, v in re.findall(r"  (\w+): \d+ cells .*? … ≈\$([\d.]+)",
                                                  capsys.readouterr().out)}
    ip.run_line_magic("opus", f"budget {worst['haiku'] + worst['sonnet'] / 4}")  # at batch price
    ip.run_cell_magic("opus", CASCADE + " --batch -o paths", PROMPT)  # stage 2: over half of it
    out = capsys.readouterr().out
    frame = ip.user_ns["paths"]
    assert not frame["settled"].any() and (frame["attempts"] == 2).all()
    assert frame["why not settled"].str.startswith("Over the session budget").all()
    session = default_session()
    [only] = list_batches(session.store(session.settings()))  # stage 1's; stage 2 never sent
    assert {r.batch_id for r in opus_magic.history(limit=50)} == {only.id}
    assert "10 rows not settled" in out and "Traceback" not in out


def test_opus_grid_shows_a_cascade_again_from_history(ip, simulator, capsys) -> None:
    simulator.configure(accuracy={"haiku": 0.5})
    ip.user_ns["tickets"] = TICKETS
    ip.run_cell_magic("opus", CASCADE + " --compare -o paths", PROMPT)
    live = capsys.readouterr().out
    ip.run_line_magic("opus", "grid")
    again = capsys.readouterr().out
    frame = ip.user_ns["paths"]
    assert again.startswith(f"Cascade {opus_magic.last_run().grid_id}")
    for row, path in zip(frame["row"], frame["path"]):
        assert re.search(rf"^{row} +{re.escape(path)} ", again, re.M)
    assert frame.attrs["summary"] in again
    settled = live.split("Settled at each stage: ")[1].split(".")[0]
    assert f"Settled at each stage: {settled}." in again


def test_a_judges_score_decides_at_accept(ip, simulator) -> None:
    simulator.configure(accuracy={"haiku": 0.5})
    ip.user_ns["tickets"] = [t for t in TICKETS if t["label"] == "billing"]
    ip.run_cell_magic("opus", "--each tickets --cascade haiku,sonnet --max-tokens 5 "
                      "--judge \"Says 'billing'\" --accept 0.9 -o paths", PROMPT)
    frame = ip.user_ns["paths"]
    first = {r.row: r for r in by_stage(1)}
    wrong = {row for row, r in first.items() if r.text.strip() != "billing"}
    assert wrong and all(first[row].checks["judge"] == 0.0 for row in wrong)
    assert {r.row for r in by_stage(2)} == wrong and frame["passed"].all()
