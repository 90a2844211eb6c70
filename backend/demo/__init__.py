"""The demo: the bundled Olist sample replayed through Pursuit by simulated reps."""

from backend.demo.build import build_demo

__all__ = ["build_demo"]
