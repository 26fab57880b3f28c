"""Placements are shared tuples; a '#' inside a tensor name (legal in a safetensors header) is classified like any
other character instead of being taken for a number's place (it used to raise IndexError)."""

from __future__ import annotations

from ckptscope.analysis.classify import ATTENTION, EXPERTS, MLP, classify, classify_many


def test_hash_in_a_name_is_an_ordinary_character():
    pl = classify("with#hash.layers.1.mlp.up_proj.weight")
    assert (pl.component, pl.layer, pl.layer_num, pl.expert) == (MLP, "1", 1, None)
    pl = classify("model.layers.3.mlp.experts.#7.experts.5.down_proj.weight")
    assert (pl.component, pl.layer, pl.expert) == (EXPERTS, "3", 5)


def test_one_object_per_distinct_placement():
    a = classify("model.layers.4.self_attn.q_proj.weight")
    b = classify("model.layers.4.self_attn.k_proj.weight")
    assert (a.component, a.layer) == (ATTENTION, "4")
    assert a is b  # same facts: the same shared object
    assert classify_many(["model.layers.4.self_attn.v_proj.weight"])[0] is a
