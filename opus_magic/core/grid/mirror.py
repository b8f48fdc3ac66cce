"""One server limit as the client mirrors it: what the headers said is left, and what a model
learned from them may add.

A response reports a limit's size, what remains and when it resets, but servers mean different
things by "reset": a refilling bucket ("until the limit is full again", as OpenAI documents it)
or a sliding window ("until the oldest request leaves it"). So what remains, less what was sent
since, is a hard bound until the reset passes; a model may add to it only once later reports
confirmed it:

- bucket: each report bounds the refill rate between (deficit - 1) / (reset + e) and
  deficit / (reset - e) (remaining is rounded down, e is the reset's resolution). A bucket's
  bounds overlap report after report; a window's soon cannot (its reset stays put while the
  deficit grows). Two reports in agreement confirm a bucket; the lowest rate they allow is
  credited from each report on.
- window: once the bounds disagree, a report made while its own send was alone in the window
  gives the window's length; a send that was in the window at a report is credited back what it
  used once that long has passed since its answer was read.
- neither (yet): once the reset passed, one send goes alone and its answer tells the rest.

Unused max_tokens given back when an answer ends are credited once a report showed the server
does so. A report that shows less than a model promised turns the models off for good.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from opus_magic.wire.ratelimits import Limit

POLL_S = 0.2  # longest single wait, so Stop and answers are noticed promptly
RECENT = 4  # reports kept: answers arrive out of order, so the lowest of their estimates binds
SLACK = 0.02  # of a limit's size: the server counts tokens a little differently from the client
KEEP = 16  # sends kept before the oldest kept report, for the give-backs it may still miss
DEFAULT_RESET_S = 60.0
EPSILON = 1e-6  # rounding of float arithmetic: a unit short by this much is there  # a report without a reset: limits are per minute unless it says otherwise


@dataclass
class Send:
    """One of our requests as this limit sees it: when it went, what it took, what it used."""

    seq: int
    sent: float
    need: float
    read: float | None = None  # when its response's headers were read
    used: float | None = None  # what it held in the end, once known
    ended: float | None = None  # when its answer ended


@dataclass(frozen=True)
class Report:
    """What one response said of the limit, and when it was read."""

    seq: int
    at: float
    remaining: float
    reset_at: float


class Mirror:
    """The client's copy of one limit (requests, tokens, input or output tokens)."""

    def __init__(self) -> None:
        self.size: float | None = None
        self.sends: dict[int, Send] = {}
        self.reports: list[Report] = []
        self.rate: tuple[float, float] | None = None  # bounds of a bucket's refill rate, per s
        self.rated = 0  # reports that bounded the rate
        self.bucket: bool | None = None  # True: reset means "until full"; False: it does not
        self.alone: tuple[float, float] | None = None  # a reset read while its send was alone
        self.resolution = 1.0  # the finest a reset was written: the server writes them so
        self.gives_back: bool | None = None
        self.trusted = True
        self.probe: int | None = None  # the send that went alone past a reset, until answered
        self.latency = 0.0  # longest recent wait for headers: how late we may learn of an end

    @property
    def window(self) -> tuple[float, float] | None:
        """Bounds of the window's length, from a reset read while its send was alone in it (a
        duration counts from the server's admission, a time from our reading of it)."""
        if self.alone is None:
            return None
        reset, trip = self.alone
        return reset - self.resolution, reset + self.resolution + trip

    @property
    def meaning(self) -> str:
        """What the reports showed "reset" to mean: bucket, window, or unknown."""
        if not self.trusted or self.bucket is None:
            return "unknown"
        return "bucket" if self.bucket else "window"

    def take(self, seq: int, now: float, need: float) -> None:
        """A send of ours took `need`; past a reset with no model, it goes alone."""
        level = self.level(now) if self.reports else 0.0
        if level == math.inf or level < min(need, self.size or need) - EPSILON:
            self.probe = seq  # it went past the estimate, which only its answer can correct
        self.sends[seq] = Send(seq, now, need)
        if not self.reports and len(self.sends) > 4 * KEEP:  # a server that reports no limit
            self._prune(now, seq - KEEP)

    def drop(self, seq: int) -> None:
        """The send was refused: the server took nothing."""
        self.sends.pop(seq, None)
        if self.probe == seq:
            self.probe = None

    def settle(self, seq: int, now: float, used: float | None, ended: bool,
               need: float | None = None) -> None:
        """What the send used (known when its answer ended, or a request's one at once), and
        what the server counted it as taking, when that differs from the client's estimate."""
        send = self.sends.get(seq)
        if send is not None:
            send.used = send.used if used is None else used
            send.need = send.need if need is None else need
            send.read = now if send.read is None else send.read
            send.ended = now if ended else send.ended
        if self.probe == seq:
            self.probe = None

    def read(self, seq: int, now: float, limit: Limit) -> None:
        """A response's report of this limit: check the models, learn, keep it."""
        send = self.sends.get(seq)
        if send is not None:
            send.read = now
            self.latency = max(now - send.sent, self.latency * 0.8)
        if self.probe is not None and seq >= self.probe:
            self.probe = None
        if limit.limit is None or limit.remaining is None or limit.limit <= 0:
            return
        self.size = float(limit.limit)
        reset_s = DEFAULT_RESET_S if limit.reset_s is None else limit.reset_s
        report = Report(seq, now, float(limit.remaining), now + reset_s)
        if self.reports:
            self._check(report, send)
        self._learn(report, limit, send)
        self.reports = sorted([*self.reports, report], key=lambda r: r.seq)[-RECENT:]
        self._prune(now)

    def level(self, now: float) -> float:
        """What is left now by the lowest estimate of the recent reports (inf when none)."""
        live = [r for r in self.reports if self._modelled() or now < r.reset_at]
        return min((self._estimate(r, now) for r in live), default=math.inf)

    def wait_s(self, need: float, now: float) -> float:
        """Seconds until `need` fits (0: now); a report's reset when only it can tell."""
        if self.size is None or not self.reports:
            return 0.0
        need = min(need, self.size)
        level = self.level(now)
        if level == math.inf:  # every reset passed and no model: one send goes alone
            return 0.0 if self.probe is None else POLL_S
        if level >= need - EPSILON:
            return 0.0
        if self._modelled() and self.bucket and self.rate:
            return max(min((need - level) / self.rate[0], self._reset_wait(now)), EPSILON)
        credit = self._next_credit(need, now) if self._modelled() else None
        if credit is not None:
            return credit
        if all(r.reset_at <= now for r in self.reports):  # no model can tell: one probes
            return 0.0 if self.probe is None else POLL_S
        return self._reset_wait(now)

    def _reset_wait(self, now: float) -> float:
        """Until the next report's reset passes (a poll when all have)."""
        coming = [r.reset_at - now for r in self.reports if r.reset_at > now]
        return max(min(coming, default=POLL_S), EPSILON)

    def _modelled(self) -> bool:
        if not self.trusted or self.bucket is None:
            return False
        return bool(self.rate and self.rate[0] > 0) if self.bucket else self.window is not None

    def _estimate(self, report: Report, now: float, upto: int | None = None,
                  gives_back: bool | None = None) -> float:
        """What is left at `now` from `report` on: less what was sent since, plus what the
        trusted models credit."""
        later = [s for s in self.sends.values()
                 if s.seq > report.seq and (upto is None or s.seq <= upto)]
        taken = sum(s.need for s in later)
        back = self._given_back(report, now, self.gives_back if gives_back is None else gives_back)
        if self._modelled() and self.bucket and self.rate:
            assert self.size is not None
            refilled = report.remaining + self.rate[0] * max(now - report.at, 0.0)
            return min(self.size, refilled) - taken + back
        left = sum(s.used or 0.0 for s in self._left(report, now)) if self._modelled() else 0.0
        return report.remaining - taken + back + left

    def _given_back(self, report: Report, now: float, gives_back: bool | None) -> float:
        """Unused reservations returned after `report` was made and before `now`."""
        if not gives_back:
            return 0.0
        return sum(max(s.need - s.used, 0.0) for s in self.sends.values()
                   if s.used is not None and s.ended is not None and s.ended <= now
                   and (s.seq > report.seq or s.ended > report.at + self.latency))

    def _left(self, report: Report, now: float) -> list[Send]:
        """Sends counted in the window when `report` was made, or taken since, that surely left
        it by `now`."""
        assert self.window is not None
        shortest, longest = self.window
        return [s for s in self.sends.values()
                if s.read is not None and s.read + longest <= now
                and (s.seq > report.seq or s.sent + shortest > report.at)]

    def _next_credit(self, need: float, now: float) -> float | None:
        """Seconds until the window model credits enough for `need`; None when it never will."""
        if self.window is None or self.bucket:
            return None
        due = sorted(s.read + self.window[1] for s in self.sends.values()
                     if s.read is not None and s.read + self.window[1] > now)
        for when in due:
            if self.level(when) >= need - EPSILON:
                return when - now
        return None

    def _check(self, report: Report, send: Send | None) -> None:
        """Turn the models off when the report shows less than they promised; learn whether
        the server gives back unused reservations.

        Answers sent together reach the server in any order, so the promise counts every send
        taken since the last report and every earlier one still unanswered when it was read.
        """
        before = [r for r in self.reports if r.seq < report.seq]
        if not before or send is None:
            return
        base, slack = before[-1], 1.0 + SLACK * (self.size or 0.0)
        unread = sum(s.need for s in self.sends.values()
                     if s.seq < base.seq and (s.read is None or s.read > base.at))
        if self._modelled() and report.remaining < self._estimate(base, send.sent) - unread - slack:
            self.trusted = False
            return
        kept = self._estimate(base, send.sent, report.seq, gives_back=False)
        given = self._estimate(base, send.sent, report.seq, gives_back=True)
        if given - kept >= 4:
            self.gives_back = report.remaining >= (kept + given) / 2

    def _learn(self, report: Report, limit: Limit, send: Send | None) -> None:
        """Bound the refill rate; note the reset when the send was alone in the window.

        A reset written as a duration counts from the server's admission, one written as a time
        from our reading of it: either way the true reset lies within the resolution plus the
        round trip of the report.
        """
        assert self.size is not None
        deficit, reset = self.size - report.remaining, limit.reset_s
        if reset is None or deficit < 1 or reset <= 0:
            return
        self.resolution = resolution = min(self.resolution, limit.precision_s)
        trip = self.latency if send is None else report.at - send.sent
        shortest, longest = reset - resolution, reset + resolution + trip
        low = (deficit - 1) / longest
        high = deficit / shortest if shortest > 0 else math.inf
        if self.rate is not None:
            low, high = max(low, self.rate[0]), min(high, self.rate[1])
        if low > high:
            self.bucket = False
        elif self.bucket is not False:
            self.rate, self.rated = (low, high), self.rated + 1
            self.bucket = True if self.rated >= 2 and low > 0 else self.bucket
        if send is not None and report.remaining + send.need > self.size - 1:  # nothing else
            self.alone = (reset, trip)

    def _prune(self, now: float, oldest: int | None = None) -> None:
        """Forget sends that no kept report (or, before any, no report to come), window or
        give-back can still need."""
        oldest = self.reports[0].seq - KEEP if oldest is None else oldest
        longest = self.window[1] if self.window else 0.0
        self.sends = {seq: s for seq, s in self.sends.items()
                      if seq > oldest or s.read is None or s.ended is None
                      or s.read + longest + self.latency > now}
