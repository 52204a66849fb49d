"""espnet-kd: knowledge distillation for ESPnet2 speech models."""

__version__ = "0.1.0"
