#!/usr/bin/python3
# A federation worker stand-in: beats into FILE every half second (its pid
# and the time), so an experiment can see that it keeps running.
import os
import sys
import time

beat = sys.argv[1]
while True:
    with open(beat + ".tmp", "w") as f:
        f.write("%d %f\n" % (os.getpid(), time.time()))
    os.replace(beat + ".tmp", beat)
    time.sleep(0.5)
