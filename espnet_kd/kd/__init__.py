"""espnet_kd.kd"""
