"""`--continue`: multi-turn conversations, each turn its own run linked to its parent."""
from __future__ import annotations

import opus_magic
from opus_magic.core.history import totals
from opus_magic.core.session import default_session

DOC = "The write-ahead log keeps readers and the writer out of each other's way. " * 120


def test_a_conversation_chain_grows_its_cached_prefix(ip, simulator, capsys) -> None:
    ip.user_ns["doc"] = DOC                                  # ~1,900 tokens, above Sonnet's 1,024
    ip.run_cell_magic("opus", "-m sonnet --max-tokens 60 --tag chat", "{doc}\nSummarise this.")
    first = opus_magic.last_run()
    ip.run_cell_magic("opus", "--continue", "Why does that help readers?")
    second = opus_magic.last_run()
    ip.run_cell_magic("opus", "--continue", "Give one example.")
    third = opus_magic.last_run()

    assert (second.parent_id, third.parent_id) == (first.id, second.id)
    assert first.parent_id is None and second.model == third.model == "sonnet"
    assert second.messages == [*first.messages, {"role": "assistant", "content": first.text},
                                {"role": "user", "content": "Why does that help readers?"}]
    assert third.messages == [*second.messages, {"role": "assistant", "content": second.text},
                              {"role": "user", "content": "Give one example."}]
    assert simulator.requests()[-1].messages == third.messages
    # the repeated prefix is read from the cache, and it grows turn by turn
    assert first.usage.cache_read_tokens == 0 and first.usage.cache_write_tokens > 1024
    assert second.usage.cache_read_tokens == first.usage.input_tokens
    assert third.usage.cache_read_tokens > second.usage.cache_read_tokens
    assert [r.id for r in opus_magic.history(tag="chat")] == [first.id]   # tags are per run
    session = default_session()
    total = totals.compute(session.store(session.settings()))[-1]
    assert total.runs == 3 and total.cache_hit_rate > 0.5 and total.cache_saved > 0


def test_continue_a_named_run_keeps_its_system_prompt_and_mode(ip, simulator) -> None:
    ip.run_cell_magic("opus", '-m haiku -s "You are terse." --concise', "What is WAL?")
    root = opus_magic.last_run()
    ip.run_cell_magic("opus", "-m 4o", "Unrelated question.")
    ip.run_cell_magic("opus", f"--continue {root.id[:8]}", "And journal mode?")
    branch = opus_magic.last_run()
    assert branch.parent_id == root.id and branch.model == "haiku" and branch.concise == "concise"
    assert branch.messages[0] == root.messages[0]           # identical system message: cacheable
    assert branch.messages[1:3] == [root.messages[1], {"role": "assistant", "content": root.text}]
    ip.run_cell_magic("opus", f'--continue {root.id} -s "You are verbose."', "Go on.")
    changed = opus_magic.last_run()
    assert changed.messages[0]["content"].startswith("You are verbose.")
    assert changed.concise == "concise" and changed.parent_id == root.id


def test_continue_with_several_models_shares_the_parent(ip, simulator) -> None:
    ip.run_cell_magic("opus", "-m opus", "Pick a number.")
    root = opus_magic.last_run()
    ip.run_cell_magic("opus", f"-m opus,4o --continue {root.id}", "Why that one?")
    turns = opus_magic.history(limit=2)
    assert {r.parent_id for r in turns} == {root.id}
    assert turns[0].comparison_id == turns[1].comparison_id
    assert all(r.messages[-2] == {"role": "assistant", "content": root.text} for r in turns)


def test_continue_errors_are_one_line(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "--continue", "hello")
    assert "no earlier run to continue" in capsys.readouterr().err
    ip.run_cell_magic("opus", "--continue nosuchrun", "hello")
    assert "No run 'nosuchrun' in history to continue" in capsys.readouterr().err
    simulator.scenario("401", times=1)
    ip.run_cell_magic("opus", "", "hello")
    failed = opus_magic.last_run()
    assert failed.status == "error"
    capsys.readouterr()
    ip.run_cell_magic("opus", "--continue", "hello again")
    err = capsys.readouterr().err
    assert f"Run {failed.id} has no answer to continue from" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
