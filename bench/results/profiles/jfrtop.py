import subprocess, sys, re, collections
# Aggregates jdk.ExecutionSample: top frames (self) and any-frame presence for our packages, by thread name group.
f=sys.argv[1]
out=subprocess.run(['jfr','print','--stack-depth','48','--events','jdk.ExecutionSample',f],capture_output=True,text=True).stdout
samples=out.split('jdk.ExecutionSample {')[1:]
top=collections.Counter(); incl=collections.Counter(); threads=collections.Counter()
for s in samples:
    m=re.search(r'sampledThread = "([^"]*)"',s)
    t=m.group(1) if m else '?'
    t=re.sub(r'[-#]?\d+$','',t)
    threads[t]+=1
    frames=re.findall(r'^\s+([\w.$<>]+)\(.*?line:',s,re.M)
    if frames:
        top[frames[0]]+=1
        seen=set()
        for fr in frames:
            k=fr.rsplit('.',1)[0]
            if k.startswith('dev.fleetserver') and fr not in seen:
                seen.add(fr); incl[fr]+=1
n=len(samples)
print("samples",n)
print("threads:",threads.most_common(8))
print("top self frames:")
for k,v in top.most_common(20): print("  %5.1f%% %s"%(100*v/n,k))
print("our frames, inclusive:")
for k,v in incl.most_common(25): print("  %5.1f%% %s"%(100*v/n,k))
