def load(ck, source, strict):
    pass
