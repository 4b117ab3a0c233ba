%% Erlang/OTP distribution for bench/compare/remote.py: two nodes started
%% with -sname on this host, the same benches and output as troupe_remote.
%%
%% Build: erlc -o DIR remote.erl
%% Serve: erl -noshell -sname b -setcookie bench -pa DIR -s remote serve
%%        (prints "listening b@HOST", stops when stdin closes)
%% Run:   erl -noshell -sname a -setcookie bench -pa DIR
%%            -s remote main pingpong|fanin b@HOST N
%%
%%   pingpong  a process on a sends {self(), I} to b's registered echo,
%%             which sends I back; N round trips one at a time; checks each.
%%   fanin     4 processes on a send M integers each to b's registered sink;
%%             the sink reports {count, sum} when it has 4M; checks the sum.
-module(remote).
-export([serve/0, main/1]).

serve() ->
    register(echo, spawn(fun echo/0)),
    register(sink, spawn_opt(fun() -> sink(0, 0, 0, none) end, [{message_queue_data, off_heap}])),
    io:format("listening ~s~n", [node()]),
    spawn(fun() -> wait_stdin() end).

wait_stdin() ->
    case io:get_line("") of
        eof -> erlang:halt(0);
        _ -> wait_stdin()
    end.

echo() ->
    receive
        {From, I} -> From ! I, echo()
    end.

sink(Expected, Count, Sum, To) ->
    receive
        {start, N, From} -> sink(N, 0, 0, From);
        V when is_integer(V) ->
            C = Count + 1,
            S = Sum + V,
            case C =:= Expected of
                true -> To ! {counted, C, S}, sink(0, 0, 0, none);
                false -> sink(Expected, C, S, To)
            end
    end.

main([Bench, NodeAtom, NAtom]) ->
    Node = NodeAtom,
    N = list_to_integer(atom_to_list(NAtom)),
    pong = net_adm:ping(Node),
    case atom_to_list(Bench) of
        "pingpong" -> pingpong(Node, N);
        "fanin" -> fanin(Node, N)
    end,
    erlang:halt(0).

pingpong(Node, N) ->
    Echo = {echo, Node},
    rounds(Echo, 0, 1000),
    T0 = erlang:monotonic_time(microsecond),
    rounds(Echo, 0, N),
    Us = erlang:monotonic_time(microsecond) - T0,
    io:format("{\"bench\":\"remote_pingpong\",\"runtime\":\"erlang\",\"metric\":\"us_per_roundtrip\",\"value\":~.3f}~n",
              [Us / N]).

rounds(_, N, N) -> ok;
rounds(Echo, I, N) ->
    Echo ! {self(), I},
    receive
        I -> rounds(Echo, I + 1, N)
    after 10000 -> io:format(standard_error, "pingpong: no reply~n", []), erlang:halt(1)
    end.

fanin(Node, M) ->
    Sink = {sink, Node},
    Sink ! {start, 4 * M, self()},
    T0 = erlang:monotonic_time(microsecond),
    [spawn(fun() -> send_all(Sink, 1, M) end) || _ <- lists:seq(1, 4)],
    receive
        {counted, C, S} ->
            Us = erlang:monotonic_time(microsecond) - T0,
            Want = 4 * (M * (M + 1) div 2),
            case {C, S} of
                {_, Want} when C =:= 4 * M ->
                    io:format("{\"bench\":\"remote_fanin\",\"runtime\":\"erlang\",\"metric\":\"msgs_per_sec\",\"value\":~w}~n",
                              [round(4 * M / (Us / 1000000))]);
                _ -> io:format(standard_error, "fanin: wrong sum~n", []), erlang:halt(1)
            end
    after 120000 -> io:format(standard_error, "fanin: timed out~n", []), erlang:halt(1)
    end.

send_all(_, I, M) when I > M -> ok;
send_all(Sink, I, M) -> Sink ! I, send_all(Sink, I + 1, M).
