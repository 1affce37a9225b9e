"""The sample organization: a fictional company generated from a seed, as real files."""

from understudy.demo.generate import generate_demo
from understudy.demo.manifest import DemoManifest, DemoSource, PlantedFact

__all__ = ["DemoManifest", "DemoSource", "PlantedFact", "generate_demo"]
