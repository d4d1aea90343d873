"""The stages of the news pipeline: plain functions first, each stage's composite PTransform last."""
