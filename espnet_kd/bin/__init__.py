"""espnet_kd.bin"""
