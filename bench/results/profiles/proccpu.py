import os, time, sys
HZ = os.sysconf('SC_CLK_TCK')
prev = {}
end = time.time() + float(sys.argv[1])
out = open(sys.argv[2], 'w')
while time.time() < end:
    now = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit(): continue
        try:
            cmd = open(f'/proc/{pid}/cmdline','rb').read().replace(b'\0', b' ').decode()
            if 'java' not in cmd: continue
            if 'fleet-server.jar' in cmd: name = 'server'
            elif 'LoadGenerator' in cmd or 'generator' in cmd.lower(): name = 'gen'
            else: continue
            f = open(f'/proc/{pid}/stat').read().rsplit(')',1)[1].split()
            now[pid] = (name, int(f[11]) + int(f[12]))
        except Exception:
            pass
    line = []
    for pid,(name,t) in now.items():
        if pid in prev:
            line.append(f"{name}:{pid}={(t-prev[pid][1])/HZ:.2f}")
    out.write(time.strftime('%H:%M:%S') + ' ' + ' '.join(sorted(line)) + '\n'); out.flush()
    prev = now
    time.sleep(1)
