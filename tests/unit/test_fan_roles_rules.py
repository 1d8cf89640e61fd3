"""The rules of fan-role panels and loyalty tiers, without Discord."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelbot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from labelbot.features.fan_roles._service import (
    EntrySpec,
    PanelSpec,
    RoleChange,
    TierRule,
    check_entry_spec,
    check_panel_spec,
    check_threshold,
    choose,
    describe_change,
    next_tier,
    split_entries,
    tier_change,
    toggle,
)
from labelbot.models.fan_roles import FanRolePanel, FanRolePanelEntry

PANEL = [1, 2, 3]


def spec(**changes: object) -> PanelSpec:
    values: dict[str, object] = {
        "name": "Genres",
        "style": "buttons",
        "mode": "any",
        "max_roles": None,
        "required_role_id": None,
        "channel_id": 9,
    }
    values.update(changes)
    return PanelSpec(**values)  # type: ignore[arg-type]


def entries(count: int) -> list[FanRolePanelEntry]:
    return [FanRolePanelEntry(id=n, role_id=1000 + n, label=f"R{n}", position=n) for n in range(count)]


def test_toggle_gives_takes_and_swaps_in_exactly_one_mode() -> None:
    assert toggle("any", None, PANEL, {2}, 1) == RoleChange(added=[1])
    assert toggle("any", None, PANEL, {1, 2}, 1) == RoleChange(removed=[1])
    assert toggle("one", None, PANEL, {2, 99}, 1) == RoleChange(added=[1], removed=[2])


def test_toggle_at_most_refuses_past_the_limit() -> None:
    assert toggle("at_most", 2, PANEL, {1}, 2) == RoleChange(added=[2])
    with pytest.raises(NotAllowed, match="at most 2"):
        toggle("at_most", 2, PANEL, {1, 2}, 3)
    # Dropping one is always allowed.
    assert toggle("at_most", 2, PANEL, {1, 2}, 2) == RoleChange(removed=[2])


def test_choose_sets_exactly_the_menus_roles_and_keeps_the_others() -> None:
    panel = [1, 2, 3, 4]
    assert choose("any", None, panel, [1, 2], {1, 3, 99}, [2]) == RoleChange(added=[2], removed=[1])
    assert choose("any", None, panel, [1, 2], {1, 2}, []) == RoleChange(removed=[1, 2])
    assert not choose("any", None, panel, [1, 2], {1}, [1])


def test_choose_keeps_to_the_mode_across_menus() -> None:
    panel = [1, 2, 3, 4]
    assert choose("one", None, panel, [3, 4], {1}, [3]) == RoleChange(added=[3], removed=[1])
    with pytest.raises(NotAllowed):
        choose("one", None, panel, [3, 4], set(), [3, 4])
    with pytest.raises(NotAllowed, match="at most 2"):
        choose("at_most", 2, panel, [3, 4], {1}, [3, 4])
    with pytest.raises(NotFound):
        choose("any", None, panel, [1, 2], set(), [3])


@given(
    held=st.sets(st.integers(1, 6)),
    chosen=st.sets(st.integers(1, 3)),
)
def test_choose_result_holds_exactly_the_chosen_menu_roles(held: set[int], chosen: set[int]) -> None:
    panel, menu = [1, 2, 3, 4, 5], [1, 2, 3]
    change = choose("any", None, panel, menu, held, chosen)
    after = (held | set(change.added)) - set(change.removed)
    assert {r for r in after if r in menu} == chosen
    assert {r for r in after if r not in menu} == {r for r in held if r not in menu}


def test_panel_spec_checks() -> None:
    assert check_panel_spec(spec(name="  Big   genres ")).name == "Big genres"
    with pytest.raises(InvalidInput, match="at least 1"):
        check_panel_spec(spec(mode="at_most", max_roles=0))
    with pytest.raises(InvalidInput, match="needs `max`"):
        check_panel_spec(spec(mode="at_most"))
    with pytest.raises(InvalidInput, match="only applies"):
        check_panel_spec(spec(max_roles=2))
    with pytest.raises(InvalidInput):
        check_panel_spec(spec(name="x" * 101))


def test_entry_checks() -> None:
    panel = FanRolePanel(id=1, name="Genres", required_role_id=7)
    existing = entries(2)
    with pytest.raises(Conflict):
        check_entry_spec(panel, existing, EntrySpec(1000, None, "Dup", None, None))
    with pytest.raises(InvalidInput, match="required role"):
        check_entry_spec(panel, existing, EntrySpec(7, None, "Gate", None, None))
    with pytest.raises(InvalidInput, match="at most 80"):
        check_entry_spec(panel, existing, EntrySpec(5, None, "x" * 81, None, None))
    with pytest.raises(InvalidInput, match="at most 125"):
        check_entry_spec(panel, entries(125), EntrySpec(5, None, "More", None, None))


@pytest.mark.parametrize(
    ("count", "style", "sizes"),
    [(0, "buttons", [0]), (25, "buttons", [25]), (26, "select", [25, 1]), (60, "buttons", [25, 25, 10])],
)
def test_split_entries(count: int, style: str, sizes: list[int]) -> None:
    assert [len(part) for part in split_entries(entries(count), style)] == sizes


TIERS = [TierRule(10, 1), TierRule(30, 3), TierRule(50, 5)]


def test_tier_change_gives_the_highest_and_takes_the_rest() -> None:
    assert tier_change(0, TIERS, False, {10}) == RoleChange(removed=[10])
    assert tier_change(3, TIERS, False, {10}) == RoleChange(added=[30], removed=[10])
    assert tier_change(4, TIERS, False, {30, 50}) == RoleChange(removed=[50])
    assert not tier_change(7, TIERS, False, {50, 99})


def test_tier_change_keeping_lower_tiers() -> None:
    assert tier_change(5, TIERS, True, {10}) == RoleChange(added=[30, 50])
    assert tier_change(3, TIERS, True, {10, 30, 50}) == RoleChange(removed=[50])


def test_next_tier_and_threshold() -> None:
    assert next_tier(3, TIERS) == TierRule(50, 5)
    assert next_tier(5, TIERS) is None
    with pytest.raises(InvalidInput):
        check_threshold(0)


def test_describe_change() -> None:
    assert describe_change(RoleChange(added=[1])) == "Gave you <@&1>."
    assert (
        describe_change(RoleChange(added=[1, 2, 3], removed=[4]))
        == "Gave you <@&1>, <@&2> and <@&3> and took away <@&4>."
    )
    assert describe_change(RoleChange()) == "Nothing changed: you already have exactly those roles."
