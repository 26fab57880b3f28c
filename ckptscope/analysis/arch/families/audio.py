"""placeholder"""
FAMILY_LIST: list = []
