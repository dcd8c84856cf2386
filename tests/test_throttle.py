"""The dispatcher's pace, on an injected clock: every chat about one a second after a burst of
three, groups twenty a minute, the overall limit with its margin, and what 429s teach (a chat
waits out its retry_after; 429s for several chats pause everything and halve the rate, which
then climbs back)."""

from __future__ import annotations

import asyncio
import heapq

import pytest

from searchbot.delivery.throttle import COUNTED_SHARE, SPREAD, Throttle

PERSON, GROUP, OTHER_GROUP = 1001, -2001, -2002
CALL = 0.03  # seconds a call takes in these fan-outs
HELD = 1.0 + CALL - COUNTED_SHARE * CALL  # its place in the sliding second, from its start


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(clock: Clock) -> Throttle:
    return Throttle(per_second=30, group_per_minute=20, chat_per_second=1.0, now=clock)


def send(throttle: Throttle, chat_id: int) -> None:
    """One message through the throttle, as the dispatcher does it: slot, record, call, end."""
    assert throttle.wait_for_chat(chat_id) == 0
    throttle.take_slot()
    throttle.record(chat_id)
    throttle.call_started()
    throttle.slot_done()
    throttle.settle(chat_id)


@pytest.mark.parametrize("chat_id", [PERSON, GROUP])
def test_every_chat_takes_a_burst_of_three_then_one_a_second(
    throttle: Throttle, clock: Clock, chat_id: int
) -> None:
    for _ in range(3):
        send(throttle, chat_id)
    assert throttle.wait_for_chat(chat_id) == pytest.approx(1.0)
    assert throttle.wait_for_chat(OTHER_GROUP) == 0  # other chats are not held
    clock.now += 0.5
    assert throttle.wait_for_chat(chat_id) == pytest.approx(0.5)
    clock.now += 0.5
    send(throttle, chat_id)
    assert throttle.wait_for_chat(chat_id) == pytest.approx(1.0)


def test_a_chats_pace_counts_from_the_end_of_its_last_send(
    throttle: Throttle, clock: Clock
) -> None:
    for _ in range(3):
        throttle.take_slot()
        throttle.record(PERSON)
        throttle.call_started()
        clock.now += 0.4  # the call takes 0.4 s; the server counted it when it arrived
        throttle.slot_done()
        throttle.settle(PERSON)
    # Refilling during the calls would have left 1.2 tokens; counted from their ends, none.
    assert throttle.wait_for_chat(PERSON) == pytest.approx(1.0)


def test_a_group_takes_twenty_a_minute(throttle: Throttle, clock: Clock) -> None:
    for _ in range(20):
        send(throttle, GROUP)
        clock.now += 1.0
    # The bucket has refilled, but the minute is full until the first message is a minute old.
    assert throttle.wait_for_chat(GROUP) == pytest.approx(40.0)
    assert throttle.wait_for_chat(PERSON) == 0
    assert GROUP in throttle.blocked_chats()
    clock.now += 40.0
    assert throttle.wait_for_chat(GROUP) == 0


def test_unrecord_gives_the_token_back(throttle: Throttle) -> None:
    for _ in range(3):
        throttle.record(GROUP)
    throttle.unrecord(GROUP)
    assert throttle.wait_for_chat(GROUP) == 0


def test_a_handlers_direct_reply_counts_without_running_up_a_debt(
    throttle: Throttle, clock: Clock
) -> None:
    for _ in range(10):  # a person tapping fast: ten answers in a moment
        throttle.record_direct(PERSON)
    assert throttle.wait_for_chat(PERSON) == pytest.approx(1.0)  # not ten seconds


def test_overall_slots_keep_under_the_limit_in_every_second(
    throttle: Throttle, clock: Clock
) -> None:
    starts = []
    for _ in range(300):
        wait = throttle.slot_wait()
        clock.now += wait
        throttle.take_slot()
        assert throttle.call_wait() == 0
        throttle.call_started()
        starts.append(clock.now)
        clock.now += 0.03  # each call takes 30 ms
        throttle.slot_done()
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= SPREAD / 30 - 1e-9
    # However the server placed each call between its start and its end, no second of its
    # holds more than 30: the calls that started within a second and a call's length.
    assert max(sum(1 for t in starts if s <= t < s + HELD) for s in starts) <= 30
    elapsed = starts[-1] - starts[0]
    # the tenth 30 a call's length and a second after the first (nine whole seconds and the
    # spread of one), and within 0.9 of the limit, round trips and all
    assert 9 * HELD <= elapsed <= 300 / 30 / 0.9


def fan_out(throttle: Throttle, clock: Clock, sends: int, call: float = 0.03) -> list[float]:
    """``sends`` calls of ``call`` seconds each, started as slots come, side by side as the
    dispatcher makes them; their starts."""
    starts: list[float] = []
    ends: list[float] = []  # calls in the air
    while len(starts) < sends:
        wait = throttle.slot_wait()
        if ends and clock.now + wait >= ends[0]:  # a call ends first: it frees its place
            clock.now = max(clock.now, heapq.heappop(ends))
            throttle.slot_done()
            continue
        if wait > 0:
            clock.now += max(wait, 1e-6)  # a wait too small to move the clock still passes
            continue
        throttle.take_slot()
        assert throttle.call_wait() == 0
        throttle.call_started()
        starts.append(clock.now)
        heapq.heappush(ends, clock.now + call)
    while ends:
        clock.now = max(clock.now, heapq.heappop(ends))
        throttle.slot_done()
    return starts


def test_a_long_fanout_keeps_the_spread_of_its_first_second(
    throttle: Throttle, clock: Clock
) -> None:
    """The first second's sends are spread over 80 % of it, and every later send takes the
    place of the one leaving the sliding second: the spread repeats itself, a sighting that
    comes in waits for the next place (some 30 ms), at most the rest of the second (0.25 s),
    never the whole of it; and the 300th goes out 9 seconds and 0.8 after the first, not 10."""
    starts = fan_out(throttle, clock, 300)
    gaps = sorted(b - a for a, b in zip(starts[30:], starts[31:], strict=False))  # past the start
    assert gaps[len(gaps) // 2] < 0.9 / 30  # most sends a place apart
    assert gaps[-1] < 0.25  # the rest of each second
    assert len([gap for gap in gaps if gap > 0.1]) <= 9  # once a second
    assert max(sum(1 for t in starts if s <= t < s + HELD) for s in starts) <= 30
    assert starts[-1] - starts[0] < 9 * HELD + 0.85


@pytest.mark.parametrize("phase", [0.0, 0.5, 1.0])
def test_wherever_the_server_counts_a_call_no_second_of_its_holds_more_than_30(
    throttle: Throttle, clock: Clock, phase: float
) -> None:
    """The server counts each call at the same point of it (on arrival, half-way, just before
    it answers): the credit of most of a round trip never lets a 31st into its second, and
    the fan-out goes at 30 a second less a fifth of a round trip, not 30 less a whole one."""
    starts = fan_out(throttle, clock, 600)
    counted = [start + phase * CALL for start in starts]
    assert max(sum(1 for t in counted if c <= t < c + 1.0) for c in counted) <= 30
    assert starts[-1] - starts[0] < 19 * (1.0 + (1 - COUNTED_SHARE) * CALL) + 0.85


def test_a_slow_servers_round_trip_is_credited_at_most_a_tenth_of_a_second(
    throttle: Throttle, clock: Clock
) -> None:
    starts = fan_out(throttle, clock, 60, call=2.0)  # a server taking two seconds a call
    assert starts[30] - starts[0] >= 2.0 + 1.0 - 0.1  # the 31st: the first's end, a second on


def test_after_a_stall_the_second_fills_at_the_spread_again(
    throttle: Throttle, clock: Clock
) -> None:
    fan_out(throttle, clock, 60)
    clock.now += 2.0  # the database stalled: nothing was sent for two seconds
    starts = fan_out(throttle, clock, 40)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= SPREAD / 30 - 1e-9  # never closer than the spread
    assert starts[29] - starts[0] < 0.85  # the emptied second fills at once, spread
    assert starts[30] - starts[0] >= 1.0  # then each waits for the place one leaves
    assert max(sum(1 for t in starts if s <= t < s + HELD) for s in starts) <= 30


def test_calls_in_flight_hold_their_place_in_the_second(throttle: Throttle, clock: Clock) -> None:
    for _ in range(30):  # 30 calls started, none has ended (a slow server)
        clock.now += throttle.slot_wait()
        throttle.take_slot()
        throttle.call_started()
    clock.now += 5.0
    assert throttle.slot_wait() > 0  # they are still in the air: no 31st
    for _ in range(30):
        throttle.slot_done()
    assert throttle.slot_wait() > 0  # ended just now: they count for another second
    clock.now += 1.0
    assert throttle.slot_wait() == 0


def test_a_429_pauses_only_its_chat(throttle: Throttle, clock: Clock) -> None:
    throttle.throttled(GROUP, 5)
    assert throttle.wait_for_chat(GROUP) == pytest.approx(5.0)
    assert throttle.wait_for_chat(OTHER_GROUP) == 0
    assert throttle.paused_all() == 0
    assert throttle.rate() == 30
    clock.now += 5.0
    assert throttle.wait_for_chat(GROUP) == 0


def test_429s_for_several_chats_pause_every_send_and_lower_the_rate(
    throttle: Throttle, clock: Clock
) -> None:
    throttle.throttled(GROUP, 3)
    clock.now += 0.2
    throttle.throttled(PERSON, 3)  # a second chat within moments: the overall limit
    assert throttle.paused_all() == pytest.approx(3.0)
    assert throttle.wait_for_chat(OTHER_GROUP) == pytest.approx(3.0)
    assert throttle.slot_wait() == pytest.approx(3.0)
    assert throttle.rate() == pytest.approx(21)
    assert throttle.overall_429s == 1
    throttle.throttled(OTHER_GROUP, 3)  # a send that was already in the air: no second drop
    assert throttle.rate() == pytest.approx(21) and throttle.overall_429s == 1
    clock.now += 3.0
    assert throttle.paused_all() == 0
    clock.now += 2.0
    assert throttle.rate() == pytest.approx(27)  # three a second more each second
    clock.now += 60.0
    assert throttle.rate() == 30  # and never above the limit


def test_429s_far_apart_are_each_their_own_chats(throttle: Throttle, clock: Clock) -> None:
    throttle.throttled(GROUP, 1)
    clock.now += 10.0
    throttle.throttled(OTHER_GROUP, 1)
    assert throttle.paused_all() == 0 and throttle.rate() == 30


def test_the_rate_never_drops_below_one_a_second(throttle: Throttle, clock: Clock) -> None:
    for round_ in range(10):
        throttle.throttled(GROUP, 1)
        throttle.throttled(OTHER_GROUP, 1)
        clock.now += 1.0
        assert throttle.overall_429s == round_ + 1
    assert throttle.rate() >= 1.0


def test_blocked_chats_forgets_chats_that_recovered(throttle: Throttle, clock: Clock) -> None:
    for _ in range(3):
        send(throttle, PERSON)
    throttle.throttled(GROUP, 2)
    assert set(throttle.blocked_chats()) == {PERSON, GROUP}
    clock.now += 10.0
    assert throttle.blocked_chats() == {}


def test_few_slots_wait_ahead_of_their_calls(throttle: Throttle, clock: Clock) -> None:
    """Slots whose rows are still being claimed (a slow database) hold the next ones back: when
    the database answers, three calls go out, not a burst that fills the second."""
    for _ in range(3):
        clock.now += throttle.slot_wait()
        throttle.take_slot()
    clock.now += 1.0
    assert throttle.slot_wait() > 0
    throttle.call_started()
    assert throttle.slot_wait() == 0
    throttle.slot_unused()  # a row another process had taken
    throttle.slot_unused()
    throttle.take_slot()
    assert throttle.call_wait() == 0


def test_a_call_waits_if_the_second_filled_while_its_row_was_claimed(
    throttle: Throttle, clock: Clock
) -> None:
    for _ in range(29):
        throttle.record_direct(PERSON + 1)  # 29 uploads the handlers sent in this second
    throttle.take_slot()  # the slot was free a moment ago
    throttle.record_direct(PERSON + 2)
    assert throttle.call_wait() == pytest.approx(1.0)


async def test_the_dispatcher_waits_for_a_slot_and_for_its_call(
    throttle: Throttle, clock: Clock
) -> None:
    """``global_slot`` and ``call_slot``, the waits the dispatcher awaits: a free slot is taken
    at once; with the second full they wait until it has room, then go."""
    await throttle.global_slot()
    assert throttle.slot_wait() == pytest.approx(SPREAD / 30)  # the next keeps the spread
    await throttle.call_slot()
    for _ in range(29):
        clock.now += throttle.slot_wait()
        throttle.take_slot()
        throttle.call_started()  # 30 calls in the air: the second is full
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(throttle.global_slot(), timeout=0.05)
    for _ in range(30):
        throttle.slot_done()
    waiting = asyncio.ensure_future(throttle.global_slot())
    await asyncio.sleep(0.03)
    assert not waiting.done()  # ended just now: they still count for a second
    clock.now += 1.0
    await asyncio.wait_for(waiting, timeout=1)
    throttle.record_direct(PERSON)  # a second filled again while the slot's row was claimed
    for _ in range(29):
        throttle.record_direct(PERSON + 1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(throttle.call_slot(), timeout=0.05)
    clock.now += 1.0
    await asyncio.wait_for(throttle.call_slot(), timeout=1)


@pytest.fixture
def paid_throttle(clock: Clock) -> Throttle:
    return Throttle(30, group_per_minute=20, chat_per_second=1.0, now=clock, paid_per_second=1000)


def test_a_paid_burst_fills_the_paid_limit_and_a_free_send_waits_for_its_second_to_empty(
    paid_throttle: Throttle, clock: Clock
) -> None:
    """Paid sends go up to 1,000 in the sliding second. Telegram counts free and paid sends
    together, so a free send (a family's sighting) waits until fewer than 30 sends of any kind
    are left in the second: after a burst, until all but 29 of them have left it."""
    throttle = paid_throttle
    ends = []
    for _ in range(1000):
        assert throttle.paid_slot_wait() == 0
        throttle.take_paid_slot()
        assert throttle.call_wait(paid=True) == 0
        throttle.call_started()
        clock.now += 0.0005
        throttle.slot_done(paid=True)
        ends.append(clock.now)  # a paid call is held from its very end (no credit: see slot_done)
    assert throttle.paid_slot_wait() > 0  # the 1,001st waits for the first to leave
    assert throttle.slot_wait() == pytest.approx(ends[970] + 1.0 - clock.now, abs=1e-9)
    assert throttle.call_wait() > 0 and throttle.call_wait(paid=True) > 0
    clock.now = ends[0] + 1.0
    assert throttle.paid_slot_wait() == 0 and throttle.slot_wait() > 0
    clock.now = ends[970] + 1.0
    assert throttle.slot_wait() == 0  # 29 left in the second: room for a free send


def test_paid_calls_get_no_credit_however_quick_the_free_ones_were(
    paid_throttle: Throttle, clock: Clock
) -> None:
    """A paid burst queues at the server and in the bot alike: where in a call its count falls
    is unknown, so a free send after it waits for the paid calls' ends and a whole second."""
    throttle = paid_throttle
    fan_out(throttle, clock, 40)  # free calls of 30 ms: each leaves the second 24 ms early
    clock.now += 2.0
    ends = []
    for _ in range(100):
        throttle.take_paid_slot()
        throttle.call_started()
        clock.now += 0.005
        throttle.slot_done(paid=True)
        ends.append(clock.now)
    assert throttle.slot_wait() == pytest.approx(ends[70] + 1.0 - clock.now, abs=1e-9)


def test_free_sends_do_not_take_paid_slots(throttle: Throttle, clock: Clock) -> None:
    """Without paid broadcast (a limit of 0), no paid slot is ever free."""
    assert throttle.paid_slot_wait() > 0


def test_no_paid_send_overtakes_a_free_call_on_its_way(
    paid_throttle: Throttle, clock: Clock
) -> None:
    """A free send (an officer's pin) took its slot with room in the second; until Telegram has
    counted it, paid sends may not fill the second past the free limit, or it would arrive as
    the 31st and be refused (and Telegram would hold the whole bot for a second)."""
    throttle = paid_throttle
    for _ in range(20):
        throttle.take_paid_slot()
        throttle.call_started()
        throttle.slot_done(paid=True)
    throttle.take_slot()  # the pin: 20 in the second, room for it
    clock.now += throttle.free_turn_left()  # people's turn over, the pin still on its way
    for _ in range(9):  # paid sends up to the free limit, with the pin's place kept
        assert throttle.paid_slot_wait() == 0
        throttle.take_paid_slot()
        throttle.call_started()
        throttle.slot_done(paid=True)
    assert throttle.paid_slot_wait() > 0
    throttle.call_started()  # the pin's call, late (its row was being checked)
    assert throttle.paid_slot_wait() > 0
    throttle.slot_done()
    assert throttle.paid_slot_wait() == 0  # counted: the burst goes on


def test_people_take_turns_with_a_paid_burst(paid_throttle: Throttle, clock: Clock) -> None:
    """During a paid burst a person's message waits until the burst has sent for a second,
    then for the second to empty; the people's messages of the next quarter second go with it,
    and only then does the burst go on."""
    throttle = paid_throttle

    def paid_send() -> None:
        assert throttle.paid_slot_wait() == 0
        throttle.take_paid_slot()
        throttle.call_started()
        throttle.slot_done(paid=True)

    assert throttle.free_turn_wait() == 0  # no burst: nothing to wait for
    paid_send()
    clock.now += 0.4
    paid_send()
    assert throttle.free_turn_wait() == pytest.approx(0.6)  # a second of burst first
    clock.now += 0.6
    assert throttle.free_turn_wait() == 0
    clock.now += throttle.slot_wait()  # the second empties of paid sends
    assert throttle.free_turn_wait() == 0 and throttle.slot_wait() == 0
    throttle.take_slot()  # the family's sighting: the people's turn begins
    throttle.call_started()
    throttle.slot_done()
    assert throttle.free_turn_left() == pytest.approx(0.25)
    assert throttle.paid_slot_wait() == pytest.approx(0.25)
    clock.now += 0.1
    assert throttle.free_turn_wait() == 0  # the officers' copy goes in the same turn
    clock.now += 0.15
    paid_send()  # the burst goes on, for another second at least
    assert throttle.free_turn_wait() == pytest.approx(1.0)
