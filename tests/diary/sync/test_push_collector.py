"""A large push is read and written with Python's cyclic garbage collector paused (its records hold no
cycles; the collector's walks over them were about a tenth of a 10,000-record push), and the collector
runs again after it, however the push ends and whoever else paused it meanwhile."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from diary.core.collector import collector_paused
from diary.episodes.models import Episode
from diary.sync.push import service
from tests.conftest import client_for, make_user
from tests.diary.sync.helpers import changes, push, raw_episode


@pytest.fixture
def collector_seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether the collector was enabled each time a push planned a client-owned table."""
    seen: list[bool] = []
    plan = service.client_owned_plan

    def watched(**kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return plan(**kwargs)

    monkeypatch.setattr(service, "client_owned_plan", watched)
    assert gc.isenabled()
    yield seen
    assert gc.isenabled()


def _episodes(n: int, prefix: str = "ep", **overrides: Any) -> list[dict[str, Any]]:
    return [raw_episode(f"{prefix}{i}", notes="n" * 400, **overrides) for i in range(n)]


@pytest.mark.django_db(transaction=True)
def test_a_large_push_runs_with_the_collector_paused_and_enables_it_after(collector_seen: list[bool]) -> None:
    user = make_user()
    api = client_for(user)
    push(api, 0, changes(episodes={"created": _episodes(2, prefix="small")}))
    assert collector_seen == [True]  # a small push: nothing to gain
    answer = push(api, 0, changes(episodes={"created": _episodes(700)}))  # about 0.6 MB
    assert answer["rejected"] == {} and collector_seen == [True, False]
    assert Episode.objects.filter(user=user).count() == 702


@pytest.mark.django_db(transaction=True)
def test_a_large_push_refused_with_409_enables_the_collector_again(collector_seen: list[bool]) -> None:
    user = make_user()
    api = client_for(user)
    push(api, 0, changes(episodes={"created": _episodes(700)}))
    push(api, 1, changes(episodes={"updated": _episodes(700, pain=9)}), status=409)  # changed since stamp 1
    assert collector_seen == [False, False]


def test_the_collector_runs_again_when_the_last_of_several_pauses_ends() -> None:
    assert gc.isenabled()
    inside, leave = threading.Event(), threading.Event()

    def other_push() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other_push)
    with collector_paused():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other push is still running
    leave.set()
    thread.join(5)
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a push that fails")
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
