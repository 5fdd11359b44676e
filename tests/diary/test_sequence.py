"""The per-person change sequence (SYNC.md rule 1): one stamp per written row, in commit order."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from diary.episodes.models import Episode
from diary.sync.models import SyncState
from diary.sync.sequence import sequence_claim
from tests.conftest import client_for, episode_body, make_user


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_person_get_distinct_ordered_stamps() -> None:
    user = make_user()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            api = client_for(user)
            for i in range(5):
                r = api.put(f"/api/v1/episodes/t{n}-{i}", episode_body(), format="json")
                assert r.status_code == 201, r.content
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    seqs = sorted(Episode.objects.filter(user=user).values_list("seq", flat=True))
    assert seqs == list(range(2, 22))  # 20 rows, 20 distinct stamps after the initial 1
    assert SyncState.objects.get(user=user).seq == 21


@pytest.mark.django_db(transaction=True)
def test_a_claim_holds_the_persons_sequence_until_commit() -> None:
    """A second writer of the same person waits for the first to commit, so a snapshot can never
    contain stamp N+1 while stamp N is still uncommitted."""
    user = make_user()
    other = make_user()
    first_claimed, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with transaction.atomic():
            sequence_claim(user_id=user.pk)
            first_claimed.set()
            release.wait(10)
            order.append("first commits")
        connection.close()

    def second() -> None:
        first_claimed.wait(10)
        with transaction.atomic():
            sequence_claim(user_id=user.pk)
            order.append("second claimed")
        connection.close()

    t1, t2 = threading.Thread(target=first), threading.Thread(target=second)
    t1.start()
    t2.start()
    first_claimed.wait(10)
    # another person is never blocked by this one
    with transaction.atomic():
        assert sequence_claim(user_id=other.pk) == 2
    release.set()
    t1.join()
    t2.join()
    assert order == ["first commits", "second claimed"]
    assert SyncState.objects.get(user=user).seq == 3


@pytest.mark.django_db(transaction=True)
def test_claims_must_be_inside_a_transaction_and_positive() -> None:
    user = make_user()
    with pytest.raises(RuntimeError):
        sequence_claim(user_id=user.pk)
    with pytest.raises(ValueError), transaction.atomic():
        sequence_claim(user_id=user.pk, count=0)
    assert SyncState.objects.get(user=user).seq == 1
