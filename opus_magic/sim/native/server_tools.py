"""Server tools on the simulator's Messages API: web search and web fetch, run "on the server".

With a `web_search_*` tool declared (and tool_choice not none, and no custom tool called for),
the model searches once for the prompt's content words before it answers; each search returns
3 results (`web_search_result`: title, url, page_age, encrypted_content) and counts in
`usage.server_tool_use.web_search_requests`, up to `max_uses` (a search past it gets a
`web_search_tool_result_error` with `max_uses_exceeded`, and is not counted, as failed searches
are free). With a `web_fetch_*` tool declared, each URL of the prompt is fetched instead
(`web_fetch_requests`). The results count as input tokens: each result's title, URL and page
text (the text its encrypted_content carries), the same when the blocks are sent back later.
The answer's text cites the first result of each search. Knobs: scenario "web_search"
(`searches`, `error`) and "pause_turn" (`searches`; the turn ends with stop_reason pause_turn
before any text, and the re-sent conversation goes on to the answer).
"""
from __future__ import annotations

import base64
import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from opus_magic.cost.tokens import count_text
from opus_magic.sim.content import prompt_facts as facts
from opus_magic.sim.content.text import SENTENCES, prompt_words, request_seed
from opus_magic.sim.content.tool_calls import random_id
from opus_magic.sim.faults import Scenario
from opus_magic.sim.native.tools import blocks as message_blocks
from opus_magic.sim.native.tools import choice, server_tool

RESULTS_PER_SEARCH = 3
PAGE_SENTENCES = 4
SITES = (("docs.example.org", "Docs", "January 12, 2026"),
         ("news.example.com", "News", "3 weeks ago"),
         ("wiki.example.net", "Wiki", None))
CITED_CHARS = 150
server_id = random_id("srvtoolu_01", 22)


@dataclass
class ServerTurn:
    """What the server tools add to one answer: blocks (whole form), input tokens, counts."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    searches: int = 0
    fetches: int = 0
    paused: bool = False
    citations: list[dict[str, Any]] = field(default_factory=list)

    def usage(self) -> dict[str, int]:
        return {"web_search_requests": self.searches, "web_fetch_requests": self.fetches}


def page_text(query: str, url: str) -> str:
    """The text behind one result (what its encrypted_content carries), the same every time:
    a few plain sentences about the query's words."""
    rng = random.Random(request_seed([{"role": "user", "content": f"{query} {url}"}]))
    words = prompt_words(query)
    shapes = [shape for shape in SENTENCES if shape.count("{}") <= len(words)]
    sentences = []
    for shape in rng.sample(shapes, PAGE_SENTENCES):
        sentences.append(shape.format(*rng.sample(words, shape.count("{}"))).replace(" ,", ",")
                         + ".")
    return " ".join(sentences)


def _encrypted(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def result_tokens(block: dict[str, Any], model: str) -> int | None:
    """Input tokens of a web search or fetch result block, or None for any other block."""
    kind = block.get("type")
    if kind == "web_search_tool_result" and isinstance(block.get("content"), list):
        return sum(_tokens(r.get("title", ""), r.get("url", ""), _decoded(r), model)
                   for r in block["content"] if isinstance(r, dict))
    if kind == "web_fetch_tool_result" and isinstance(block.get("content"), dict):
        document = block["content"].get("content") or {}
        source = document.get("source") or {}
        return _tokens(document.get("title") or "", block["content"].get("url", ""),
                       str(source.get("data", "")), model)
    if kind in ("web_search_tool_result", "web_fetch_tool_result"):
        return 0  # an error result
    return None


def _decoded(result: dict[str, Any]) -> str:
    try:
        return base64.b64decode(str(result.get("encrypted_content", ""))).decode()
    except ValueError:
        return ""


def _tokens(title: str, url: str, text: str, model: str) -> int:
    return count_text(title, model) + count_text(url, model) + count_text(text, model)


def search(query: str, rng: random.Random, model: str, error: str | None = None
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """One search: its two blocks, the citation of its first result, and its input tokens."""
    call_id = server_id(rng)
    call = {"type": "server_tool_use", "id": call_id, "name": "web_search",
            "input": {"query": query}}
    if error is not None:
        content: Any = {"type": "web_search_tool_result_error", "error_code": error}
        return [call, {"type": "web_search_tool_result", "tool_use_id": call_id,
                       "content": content}], [], 0
    slug = "-".join(w.lower() for w in query.split()[:5]) or "results"
    content = []
    for host, site, age in SITES[:RESULTS_PER_SEARCH]:
        url = f"https://{host}/{slug}"
        content.append({"type": "web_search_result", "title": f"{query.title()} - {site}",
                        "url": url, "page_age": age,
                        "encrypted_content": _encrypted(page_text(query, url))})
    result = {"type": "web_search_tool_result", "tool_use_id": call_id, "content": content}
    return [call, result], [citation(result)], result_tokens(result, model) or 0


def citation(result: dict[str, Any]) -> dict[str, Any]:
    """A text block's citation of a search's first result."""
    top = result["content"][0]
    return {"type": "web_search_result_location", "url": top["url"], "title": top["title"],
            "encrypted_index": _encrypted(f"{result['tool_use_id']}:0"),
            "cited_text": _decoded(top)[:CITED_CHARS].strip()}


def fetch(url: str, rng: random.Random, model: str) -> tuple[list[dict[str, Any]], int]:
    """One fetch: its two blocks and its input tokens."""
    call_id = server_id(rng)
    call = {"type": "server_tool_use", "id": call_id, "name": "web_fetch", "input": {"url": url}}
    document = {"type": "document", "title": f"Page at {urlsplit(url).hostname}",
                "source": {"type": "text", "media_type": "text/plain",
                           "data": page_text(urlsplit(url).path.replace("/", " "), url)}}
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    result = {"type": "web_fetch_tool_result", "tool_use_id": call_id,
              "content": {"type": "web_fetch_result", "url": url, "retrieved_at": now,
                          "content": document}}
    return [call, result], result_tokens(result, model) or 0


def server_turn(body: dict[str, Any], prompt: str, rng: random.Random,
                scenario: Scenario | None) -> ServerTurn | None:
    """The server tools' part of this answer, or None when no server tool is declared."""
    searcher, fetcher = server_tool(body, "web_search"), server_tool(body, "web_fetch")
    if searcher is None and fetcher is None:
        return None
    turn = ServerTurn()
    messages = body.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    name = scenario.name if scenario else None
    if last.get("role") == "assistant" and name not in ("web_search", "pause_turn"):
        turn.citations = [citation(b) for b in message_blocks(last)
                          if b.get("type") == "web_search_tool_result"
                          and isinstance(b.get("content"), list) and b["content"]]
        return turn  # a paused turn sent back: the model goes on to its answer
    if choice(body).mode == "none":
        return turn
    model = str(body.get("model"))
    links = facts.urls(prompt)
    if fetcher is not None and links:
        for url in links[:_limit(fetcher)]:
            found, tokens = fetch(url, rng, model)
            turn.blocks += found
            turn.input_tokens += tokens
            turn.fetches += 1
        return turn
    if searcher is not None:
        _search_all(turn, searcher, facts.phrase(prompt, 8) or "news", rng, model, scenario)
    return turn


def _search_all(turn: ServerTurn, searcher: dict[str, Any], query: str, rng: random.Random,
                model: str, scenario: Scenario | None) -> None:
    """The turn's searches: one, or as many as the scenario says, failing past max_uses."""
    name = scenario.name if scenario else None
    count = int(scenario["searches"]) if name in ("web_search", "pause_turn") else 1
    for index in range(count):
        over = index >= _limit(searcher)
        error = "max_uses_exceeded" if over else (scenario.params.get("error")
                                                  if name == "web_search" else None)
        found, cites, tokens = search(query if index == 0 else f"{query} part {index + 1}", rng,
                                      model, error)
        turn.blocks += found
        turn.citations += cites
        turn.input_tokens += tokens
        turn.searches += 0 if error else 1
    turn.paused = name == "pause_turn"


def _limit(tool: dict[str, Any]) -> int:
    uses = tool.get("max_uses")
    return uses if isinstance(uses, int) and uses >= 0 else 1_000_000
