"""The comparison suite: each case trained (or evaluated) by trainlab's Trainer and by the loops and
frameworks people would otherwise use, each in a process of its own, side by side."""
