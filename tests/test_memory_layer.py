"""The embedded default's channel layer (config/memory_layer.py) keeps Channels' in-memory
layer's promises: each member of a group gets its own copy, a full channel is skipped by a
group send and refused to a plain send, expired messages and memberships go."""

import asyncio

import pytest
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer

from config.memory_layer import FastInMemoryChannelLayer, copy_message


def test_the_default_embedded_layer_is_this_one():
    assert isinstance(get_channel_layer(), FastInMemoryChannelLayer)


def test_each_group_member_gets_its_own_copy_in_order():
    async def scenario():
        layer = FastInMemoryChannelLayer()
        a, b = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("invocation.x", a)
        await layer.group_add("invocation.x", b)
        sent = {"type": "invocation.logs", "lines": ["one"], "row": {"error": {"stackTrace": []}}}
        await layer.group_send("invocation.x", sent)
        await layer.group_send("invocation.x", {"type": "invocation.done"})
        sent["lines"].append("changed after sending")
        first_a = await layer.receive(a)
        first_a["row"]["error"]["stackTrace"].append("changed by a")
        first_b = await layer.receive(b)
        return first_a, first_b, await layer.receive(a), await layer.receive(b)

    first_a, first_b, second_a, second_b = asyncio.run(scenario())
    assert first_a["lines"] == ["one"]
    assert first_b == {"type": "invocation.logs", "lines": ["one"], "row": {"error": {"stackTrace": []}}}
    assert second_a == second_b == {"type": "invocation.done"}


def test_a_full_channel_is_skipped_by_a_group_send_and_refused_to_a_send():
    async def scenario():
        layer = FastInMemoryChannelLayer(capacity=1)
        full, free = await layer.new_channel(), await layer.new_channel()
        await layer.send(full, {"type": "first"})
        with pytest.raises(ChannelFull):
            await layer.send(full, {"type": "second"})
        await layer.group_add("g", full)
        await layer.group_add("g", free)
        await layer.group_send("g", {"type": "to the group"})
        return await layer.receive(full), await layer.receive(free)

    assert asyncio.run(scenario()) == ({"type": "first"}, {"type": "to the group"})


def test_expired_messages_and_their_channel_s_memberships_go():
    async def scenario():
        layer = FastInMemoryChannelLayer(expiry=0)
        stale, fresh = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("g", stale)
        await layer.send(stale, {"type": "old"})
        await asyncio.sleep(0.01)
        layer._next_sweep = 0  # the next call sweeps (at most once a second otherwise)
        await layer.group_add("g", fresh)
        await layer.group_send("g", {"type": "new"})
        return fresh, list(layer.groups.get("g", {})), stale in layer.channels, await layer.receive(fresh)

    fresh, members, stale_kept, received = asyncio.run(scenario())
    assert members == [fresh] and not stale_kept
    assert received == {"type": "new"}


def test_values_other_than_json_like_ones_are_still_copied():
    shared = {"set": {1, 2}, "tuple": ([1],)}
    copied = copy_message(shared)
    copied["set"].add(3)
    copied["tuple"][0].append(2)
    assert shared == {"set": {1, 2}, "tuple": ([1],)}
