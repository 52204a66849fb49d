"""espnet_kd.tasks"""
