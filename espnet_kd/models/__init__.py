"""espnet_kd.models"""
