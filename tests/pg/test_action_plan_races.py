"""Two people adding actions to one review at the same moment on PostgreSQL (decision 0027): each
gets its own number; neither meets the unique (case, number) constraint as an error."""

from __future__ import annotations

import time

from bot import action_plan
from bot.cases import get_case
from bot.core import Core
from bot.stages import Stage
from tests.conftest import notified_case
from tests.pg.conftest import BM, run_together


def test_two_actions_added_at_once_are_numbered_one_after_the_other(core: Core) -> None:
    ref = notified_case(core)
    with core.transaction() as s:
        get_case(s, ref).stage = Stage.ALTERNATIVE_LEARNING  # a stage that takes actions

    def add(agency: str, hold: float) -> int:
        with core.transaction() as s:
            action = action_plan.add(s, core, get_case(s, ref), agency=agency, text="An action",
                                     actor=BM, due=core.calendar.local_date(core.clock.now()).replace(
                                         year=2027))
            s.flush()
            time.sleep(hold)  # the other one reads the numbers while this is not yet committed
            return action.number

    numbers = run_together(lambda: add("police", 0.5), lambda: add("la-csc", 0.5))
    assert sorted(numbers) == [1, 2]  # type: ignore[type-var]
    with core.db.session() as s:
        assert [a.number for a in action_plan.actions_of(s, get_case(s, ref))] == [1, 2]
