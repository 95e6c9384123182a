"""The PCA motion basis the flow sampler generates in."""

import pytest
import torch

from ptalker.errors import PtalkerError
from ptalker.models.motion_basis import MotionBasis

V, K = 30, 4


def _low_rank_offsets(frames: int, seed: int) -> torch.Tensor:
    """(N, V, 3) offsets spanned by K fixed directions with very different spreads, plus a mean."""
    generator = torch.Generator().manual_seed(seed)
    directions = torch.linalg.qr(torch.randn(V * 3, K, generator=torch.Generator().manual_seed(99)))[0].T  # (K, V*3)
    spreads = torch.tensor([5.0, 2.0, 1.0, 0.1])
    weights = torch.randn(frames, K, generator=generator) * spreads
    return (weights @ directions + 0.3).reshape(frames, V, 3)


def test_round_trip_is_exact_on_the_basis_span_and_coefficients_are_whitened():
    train, held_out = _low_rank_offsets(500, 0), _low_rank_offsets(50, 1)
    basis = MotionBasis.fit(train, K)
    assert basis.components.shape == (K, V * 3) and basis.size == K
    assert torch.allclose(basis.components @ basis.components.T, torch.eye(K), atol=1e-5)
    assert torch.allclose(basis.decode(basis.encode(held_out)), held_out, atol=1e-4)
    coefficients = basis.encode(train)  # (N, K)
    assert torch.allclose(coefficients.std(dim=0), torch.ones(K), atol=1e-3)
    assert basis.explained(held_out) == pytest.approx(1.0, abs=1e-5)


def test_a_smaller_basis_keeps_the_largest_directions():
    train = _low_rank_offsets(500, 0)
    two = MotionBasis.fit(train, 2)
    kept = two.explained(train)
    assert 0.95 < kept < 1.0  # spreads 5 and 2 of 5, 2, 1, 0.1: (25 + 4) / 30.01
    assert kept == pytest.approx(29 / 30.01, abs=0.01)
    restored = MotionBasis.from_state(two.state())
    assert torch.equal(restored.encode(train), two.encode(train))


def test_too_few_frames_is_a_clear_error():
    with pytest.raises(PtalkerError, match="4 components need more than 4 training frames, got 3"):
        MotionBasis.fit(_low_rank_offsets(3, 0), 4)
