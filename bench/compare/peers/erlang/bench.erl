%% Erlang/OTP peer for the troupe comparison benchmarks.
%%
%% Build: erlc -o DIR bench.erl
%% Run:   erl -noshell +P 2000000 -pa DIR -s bench main <bench> [scale]
%%        (scale multiplies N, default 1.0; +P is needed for spawn/idle)
%%
%% Each actor is an Erlang process (default SMP schedulers, one per core).
%%   pingpong  two processes, N=1e6 round trips; ponger counts pings (== N).
%%   fanin     4 senders x 2.5e6 ints (0..n-1) to one counter; senders send
%%             batches of 1000 and continue via a message to themselves.
%%             Check: count == 4n and sum == 4 * n(n-1)/2.
%%   spawn     a root spawns N=1e6 processes; each sends its index to the root
%%             and exits; root sums (== N(N-1)/2). Reports seconds and peak
%%             OS RSS growth / N (VmHWM from /proc/self/status).
%%   ring      503 processes pass a token 1e7 hops (token = remaining hops);
%%             every process counts its forwards, the sum must equal 1e7.
%%   idle      1e5 processes in a blocking receive (each acks once started);
%%             OS RSS growth / 1e5, then stop all and count stop acks.
%% Output: one JSON line per metric on stdout; on a failed check, a message
%% on stderr and exit status 1. The VM halts when main/1 returns.
-module(bench).
-export([main/1]).

%% Processes that collect a huge mailbox (spawn root, fan-in counter) keep
%% their queue off the heap; with the default (on_heap) every GC of the
%% receiver copies the queued messages and the spawn bench turns quadratic.
-define(BIG_MAILBOX, [{message_queue_data, off_heap}]).

main([Bench | Rest]) ->
    Scale = case Rest of
                [S | _] -> parse_scale(atom_to_list(S));
                [] -> 1.0
            end,
    Name = atom_to_list(Bench),
    N = fun(X) -> max(1, trunc(X * Scale)) end,
    case Name of
        "pingpong" -> pingpong(Name, N(1000000));
        "fanin" -> fanin(Name, N(2500000));
        "spawn" -> spawn_bench(Name, N(1000000));
        "ring" -> ring(Name, N(10000000));
        "idle" -> idle(Name, N(100000));
        _ -> io:format(standard_error, "unknown bench: ~s~n", [Name]),
             erlang:halt(2)
    end,
    erlang:halt(0).

%% Accepts "1", "0.5", "1e-3" and "1.5e-3".
parse_scale(S) ->
    case string:to_float(S) of
        {F, ""} -> F;
        _ -> case string:split(S, "e") of
                 [M, E] -> parse_scale(M) * math:pow(10, list_to_integer(E));
                 [_] -> float(list_to_integer(S))
             end
    end.

%% ------------------------------------------------------------ helpers

now_ns() -> erlang:monotonic_time(nanosecond).

proc_status_bytes(Key) ->
    {ok, Data} = file:read_file("/proc/self/status"),
    Lines = string:split(binary_to_list(Data), "\n", all),
    Prefix = Key ++ ":",
    case [L || L <- Lines, lists:prefix(Prefix, L)] of
        [L | _] ->
            [Num | _] = string:lexemes(lists:nthtail(length(Prefix), L), " \t"),
            list_to_integer(Num) * 1024;
        [] -> 0
    end.

%% Resets VmHWM to the current RSS (Linux >= 4.0); best effort.
reset_peak_rss() -> _ = file:write_file("/proc/self/clear_refs", "5"), ok.

emit(Bench, Metric, Value) ->
    io:format("{\"bench\":\"~s\",\"runtime\":\"erlang\",\"metric\":\"~s\","
              "\"value\":~s}~n",
              [Bench, Metric, float_to_list(float(Value), [short])]).

fail(Fmt, Args) ->
    io:format(standard_error, "erlang: check failed: " ++ Fmt ++ "~n", Args),
    erlang:halt(1).

%% ------------------------------------------------------------ pingpong

pingpong(Name, N) ->
    Main = self(),
    T0 = now_ns(),
    Pong = spawn(fun() -> ponger(0) end),
    spawn(fun() -> Pong ! {ping, self()}, pinger(Pong, N, Main) end),
    receive done -> ok end,
    T = now_ns() - T0,
    Pong ! {count, Main},
    receive {pings, Pings} -> ok end,
    Pings =:= N orelse fail("ponger counted ~p pings, expected ~p", [Pings, N]),
    emit(Name, "ns_per_roundtrip", T / N).

ponger(Count) ->
    receive
        {ping, From} -> From ! pong, ponger(Count + 1);
        {count, From} -> From ! {pings, Count}
    end.

pinger(_Pong, 1, Main) -> receive pong -> Main ! done end;
pinger(Pong, Left, Main) ->
    receive pong -> Pong ! {ping, self()}, pinger(Pong, Left - 1, Main) end.

%% ------------------------------------------------------------ fanin

fanin(Name, N) ->
    Senders = 4,
    Total = Senders * N,
    Expected = Senders * (N * (N - 1) div 2),
    Main = self(),
    T0 = now_ns(),
    Counter = spawn_opt(fun() -> counter(Main, Total, 0, 0) end, ?BIG_MAILBOX),
    [spawn(fun() -> self() ! continue, sender(Counter, 0, N) end)
     || _ <- lists:seq(1, Senders)],
    receive {count, Count, Sum} -> ok end,
    T = now_ns() - T0,
    (Count =:= Total andalso Sum =:= Expected)
        orelse fail("fanin count ~p sum ~p, expected ~p / ~p",
                    [Count, Sum, Total, Expected]),
    emit(Name, "msgs_per_sec", Total / (T / 1.0e9)).

counter(Main, Total, Total, Sum) -> Main ! {count, Total, Sum};
counter(Main, Total, Count, Sum) ->
    receive X -> counter(Main, Total, Count + 1, Sum + X) end.

sender(Dst, Next, N) ->
    receive
        continue ->
            End = min(Next + 1000, N),
            send_range(Dst, Next, End),
            if End < N -> self() ! continue, sender(Dst, End, N);
               true -> ok
            end
    end.

send_range(_Dst, End, End) -> ok;
send_range(Dst, I, End) -> Dst ! I, send_range(Dst, I + 1, End).

%% ------------------------------------------------------------ spawn

spawn_bench(Name, N) ->
    Main = self(),
    reset_peak_rss(),
    Rss0 = proc_status_bytes("VmRSS"),
    T0 = now_ns(),
    spawn_opt(fun() -> spawn_root(Main, N) end, ?BIG_MAILBOX),
    receive {spawn_sum, Sum} -> ok end,
    T = now_ns() - T0,
    Peak = proc_status_bytes("VmHWM"),
    Sum =:= N * (N - 1) div 2 orelse fail("spawn sum ~p", [Sum]),
    emit(Name, "seconds", T / 1.0e9),
    emit(Name, "rss_bytes_per_actor", max(0, Peak - Rss0) / N).

spawn_root(Main, N) ->
    Root = self(),
    spawn_children(Root, 0, N),
    Main ! {spawn_sum, collect(N, 0)}.

spawn_children(_Root, N, N) -> ok;
spawn_children(Root, I, N) ->
    spawn(fun() -> Root ! I end),
    spawn_children(Root, I + 1, N).

collect(0, Sum) -> Sum;
collect(Left, Sum) -> receive I -> collect(Left - 1, Sum + I) end.

%% ------------------------------------------------------------ ring

ring(Name, Hops) ->
    Size = 503,
    Main = self(),
    Nodes = [spawn(fun() -> receive {next, Next} -> ring_node(Main, Next, 0) end
                   end) || _ <- lists:seq(1, Size)],
    Nexts = tl(Nodes) ++ [hd(Nodes)],
    lists:foreach(fun({Nd, Nx}) -> Nd ! {next, Nx} end, lists:zip(Nodes, Nexts)),
    T0 = now_ns(),
    hd(Nodes) ! {token, Hops},
    receive ring_done -> ok end,
    T = now_ns() - T0,
    [Nd ! {stop, Main} || Nd <- Nodes],
    Counted = lists:sum([receive {forwards, C} -> C end || _ <- Nodes]),
    Counted =:= Hops orelse fail("ring counted ~p hops", [Counted]),
    emit(Name, "ns_per_hop", T / Hops).

ring_node(Main, Next, Forwards) ->
    receive
        {token, 0} -> Main ! ring_done, ring_node(Main, Next, Forwards);
        {token, Left} -> Next ! {token, Left - 1},
                         ring_node(Main, Next, Forwards + 1);
        {stop, From} -> From ! {forwards, Forwards}
    end.

%% ------------------------------------------------------------ idle

idle(Name, N) ->
    Main = self(),
    Rss0 = proc_status_bytes("VmRSS"),
    Pids = [spawn(fun() -> Main ! ready, receive stop -> Main ! stopped end end)
            || _ <- lists:seq(1, N)],
    wait_for(ready, N),
    Rss1 = proc_status_bytes("VmRSS"),
    [P ! stop || P <- Pids],
    Stopped = wait_for(stopped, N),
    Stopped =:= N orelse fail("idle stop acks ~p, expected ~p", [Stopped, N]),
    emit(Name, "bytes_per_actor", (Rss1 - Rss0) / N).

wait_for(Msg, N) -> wait_for(Msg, N, 0).
wait_for(_Msg, N, N) -> N;
wait_for(Msg, N, Got) -> receive Msg -> wait_for(Msg, N, Got + 1) end.
